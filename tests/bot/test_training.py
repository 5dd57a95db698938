"""Training data assembly: KB questions join the NLU data, Japanese gets hiragana twins."""

from __future__ import annotations

from bot.config import load_config
from bot.topics import TopicContract
from bot.training import bot_training_data, kana_twins
from knowledge.base import CuratedKnowledgeBase


def test_japanese_examples_get_an_all_hiragana_twin_for_kana_typists() -> None:
    assert kana_twins(["住民票がほしい", "hello", "[北地区](district)のごみの日"]) == ["じゅうみんひょうがほしい"]


def test_every_topic_of_every_bot_has_training_examples_from_kb_or_nlu_data() -> None:
    config = load_config(environ={})
    contract = TopicContract.load()
    data = bot_training_data(config, CuratedKnowledgeBase.load(), contract)
    for bot, bot_config in config.bots.items():
        texts = {topic: [e.text for e in examples] for topic, examples in data[bot].examples.items()}
        for topic in contract.space(bot_config.topic_groups):
            assert len(texts.get(topic.id, [])) >= 10, (bot, topic.id)
        assert "じゅうみんひょうがほしいです" in texts.get("resident_certificate", []) or bot != "city_hall"
