"""Yorisoi NLU: language identification, topic classification and entities.

The engine's interface lives in :mod:`nlu.pipeline` (``NluPipeline``) and
:mod:`nlu.types` (``NluResult``, ``NluSettings`` ...). Importing this package has
no side effects and loads no model; ``NluPipeline`` and
``load_bot_training_data`` are re-exported lazily.
"""

from __future__ import annotations

from typing import Any

from nlu.types import (
    OUT_OF_SCOPE,
    BotTrainingData,
    Candidate,
    Entity,
    NluResult,
    NluSettings,
    TrainReport,
)

__all__ = [
    "OUT_OF_SCOPE",
    "BotTrainingData",
    "Candidate",
    "Entity",
    "NluPipeline",
    "NluResult",
    "NluSettings",
    "TrainReport",
    "load_bot_training_data",
]


def __getattr__(name: str) -> Any:
    if name == "NluPipeline":
        from nlu.pipeline import NluPipeline

        return NluPipeline
    if name == "load_bot_training_data":
        from nlu.training_data import load_bot_training_data

        return load_bot_training_data
    raise AttributeError(f"module 'nlu' has no attribute {name!r}")
