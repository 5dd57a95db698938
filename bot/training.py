"""Training the NLU from the bots' data and the knowledge base, and loading it at start-up.

The model is retrained only when its inputs changed: a fingerprint of the training
data, the KB questions, the topic contract and the encoder is stored beside it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any

from bot.config import AppConfig
from bot.protocols import KnowledgeBase
from bot.topics import TopicContract
from nlu.training_data import DEFAULT_DATA_DIR

log = logging.getLogger(__name__)

#: The bots' Rasa-format training files (nlu owns them).
NLU_DATA_DIR = DEFAULT_DATA_DIR
FINGERPRINT_FILE = "yorisoi-fingerprint.txt"
_KANJI = re.compile(r"[\u4e00-\u9fff]")


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
    """Every configured bot's training data: nlu/data files plus the KB's example questions.

    Japanese examples also get an all-hiragana twin, because seniors and beginners
    often type without kanji (じゅうみんひょう for 住民票).
    """
    from nlu.training_data import load_bot_training_data, read_group

    result: dict[str, Any] = {}
    for bot, cfg in config.bots.items():
        examples = knowledge.examples(bot)
        rasa = read_group(NLU_DATA_DIR / "common").merge(read_group(NLU_DATA_DIR / bot))
        extra: dict[str, list[str]] = {topic: list(texts) for topic, texts in examples.items()}
        for topic, texts in [*examples.items(), *rasa.intents.items()]:
            extra.setdefault(topic, []).extend(kana_twins(texts))
        topics = [topic.id for topic in contract.space(cfg.topic_groups)]
        result[bot] = load_bot_training_data(NLU_DATA_DIR, bot, topics, extra)
    return result


def kana_twins(texts: list[str]) -> list[str]:
    """The all-hiragana form of every Japanese text that has kanji (entity annotations are skipped)."""
    from translations.furigana import to_kana

    return [to_kana(text) for text in texts if _KANJI.search(text) and "](" not in text and "]{" not in text]


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
