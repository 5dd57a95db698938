"""Training the NLU from the bots' data and the knowledge base, and loading it at start-up.

The model is retrained only when its inputs changed: a fingerprint of the training
data, the KB questions, the topic contract and the encoder is stored beside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from bot.config import AppConfig
from bot.protocols import KnowledgeBase
from bot.topics import TopicContract

log = logging.getLogger(__name__)

NLU_DATA_DIR = Path(__file__).resolve().parent.parent / "nlu" / "data"
FINGERPRINT_FILE = "yorisoi-fingerprint.txt"


def model_dir(config: AppConfig) -> Path:
    """Where the trained NLU artifact lives."""
    return config.data_path / "models" / "nlu"


def cache_dir(config: AppConfig) -> Path:
    """Where embeddings of training examples are cached."""
    return config.data_path / "cache"


def nlu_settings(config: AppConfig) -> Any:
    """``nlu.types.NluSettings`` from the configuration."""
    from nlu.types import NluSettings

    return NluSettings(
        languages=config.languages,
        encoder_backend=config.nlu.encoder,
        encoder_model=config.nlu.encoder_model,
        encoder_threads=config.nlu.threads,
        min_confidence=config.dialogue.min_confidence,
    )


def bot_training_data(config: AppConfig, knowledge: KnowledgeBase, contract: TopicContract) -> dict[str, Any]:
    """Every configured bot's training data: nlu/data files plus the KB's example questions."""
    from nlu.training_data import load_bot_training_data

    return {
        bot: load_bot_training_data(
            NLU_DATA_DIR, bot, [topic.id for topic in contract.space(cfg.topic_groups)], knowledge.examples(bot)
        )
        for bot, cfg in config.bots.items()
    }


def fingerprint(config: AppConfig, bots: dict[str, Any]) -> str:
    """What the trained model depends on; a change means it must be retrained."""
    from nlu.training_data import training_data_hash

    digest = hashlib.sha256()
    digest.update(training_data_hash(bots.values()).encode())
    digest.update(json.dumps([config.nlu.model_dump(), list(config.languages)], default=str).encode())
    return digest.hexdigest()[:16]


def train_nlu(config: AppConfig, knowledge: KnowledgeBase, contract: TopicContract) -> Any:
    """Train the NLU for every bot and record its fingerprint; returns the training report."""
    from nlu.pipeline import NluPipeline

    bots = bot_training_data(config, knowledge, contract)
    target = model_dir(config)
    report = NluPipeline.train(bots, nlu_settings(config), target, cache_dir(config))
    (target / FINGERPRINT_FILE).write_text(fingerprint(config, bots), encoding="utf-8")
    return report


def load_or_train_nlu(config: AppConfig, knowledge: KnowledgeBase, contract: TopicContract) -> Any:
    """The trained NLU; trains first when there is no model or its inputs changed."""
    from nlu.pipeline import NluPipeline

    target = model_dir(config)
    stored = target / FINGERPRINT_FILE
    current = fingerprint(config, bot_training_data(config, knowledge, contract))
    if not stored.exists() or stored.read_text(encoding="utf-8").strip() != current:
        log.info("training the NLU (no model yet, or its training data changed)")
        train_nlu(config, knowledge, contract)
    return NluPipeline.load(target, nlu_settings(config), cache_dir(config))
