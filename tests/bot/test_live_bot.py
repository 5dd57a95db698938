"""The live bot with the real NLU, knowledge base and catalogs, as residents use it.

Queries come from tests/data/topic_queries.jsonl: written by hand for these tests,
not taken from the training data (KB questions, nlu.yml) or the dev set.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import Components, build_components
from bot.config import load_config
from bot.types import InboundMessage, TurnResult

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ROOT / "tests" / "data" / "topic_queries.jsonl"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Components]:
    """Components with the trained NLU (trained once; embeddings cached in var/cache across runs)."""
    data_dir = tmp_path_factory.mktemp("live")
    shared_cache = ROOT / "var" / "cache"
    shared_cache.mkdir(parents=True, exist_ok=True)
    (data_dir / "cache").symlink_to(shared_cache, target_is_directory=True)
    config = load_config(environ={"YORISOI_DATA_DIR": str(data_dir)}).model_copy(
        update={"database_url": f"sqlite:///{data_dir / 'live.db'}"})
    components = build_components(config)
    yield components
    components.database.dispose()


def ask(components: Components, bot: str, text: str, sender: str, language: str | None = None) -> TurnResult:
    return components.engine.handle(InboundMessage(bot, "web", sender, text, language=language))


def test_each_bot_greets_in_japanese_and_english(live: Components) -> None:
    for bot in ("city_hall", "residents", "library"):
        ja = ask(live, bot, "こんにちは", f"greet-ja-{bot}")
        en = ask(live, bot, "Hello, good morning", f"greet-en-{bot}")
        assert (ja.topic, ja.language) == ("greet", "ja")
        assert (en.topic, en.language) == ("greet", "en")
        assert live.catalog.text(f"bot.{bot}.name", "en") in en.replies[0].text


def test_short_japanese_with_kanji_is_japanese_and_starts_the_garbage_form(live: Components) -> None:
    result = ask(live, "city_hall", "ゴミの日はいつ？", "gomi")
    assert result.language == "ja" and result.topic == "garbage_collection_day"
    assert any('/inform{"district":' in b.payload for b in result.replies[0].buttons)


def test_a_district_named_in_the_question_is_answered_at_once(live: Components) -> None:
    result = ask(live, "city_hall", "北地区のごみの収集日を教えて", "gomi-kita")
    assert live.knowledge.profile.value("districts.kita.burnable", "ja") in result.replies[0].text


def test_out_of_scope_is_recognised(live: Components) -> None:
    result = ask(live, "library", "What is the stock price of Toyota today?", "oos")
    assert result.topic == "out_of_scope"


def test_topics_are_answered_with_their_curated_answer_in_each_language(live: Components) -> None:
    rows = [json.loads(line) for line in QUERIES.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [row for row in rows if row["topic"] not in ("out_of_scope",)]
    outcomes: dict[str, list[bool]] = defaultdict(list)
    wrong = []
    clarifications = 0
    for index, row in enumerate(rows):
        explicit = "ja-x-easy" if row["lang"] == "ja-x-easy" else None
        result = ask(live, row["bot"], row["text"], f"q{index}", language=explicit)
        correct = result.topic == row["topic"]
        outcomes[row["lang"]].append(correct)
        if not correct:
            wrong.append((row["bot"], row["topic"], row["lang"], row["text"], result.topic))
            continue
        offered = [b.payload for reply in result.replies for b in reply.buttons]
        clarified = result.replies[0].text == live.catalog.text("fallback.clarify", result.language)
        if clarified:  # "did you mean ...?": the right topic must be one tap away
            clarifications += 1
            assert f"/{row['topic']}" in offered, row
            continue
        answer = live.knowledge.answer(row["bot"], row["topic"], result.language)
        if answer is not None:  # faq topics: the curated text itself, in the resident's language
            assert any(reply.text == answer.text for reply in result.replies), row
            assert answer.language == result.language or result.language == "my", row
    accuracy = sum(sum(v) for v in outcomes.values()) / sum(len(v) for v in outcomes.values())
    assert accuracy >= 0.85, wrong
    assert clarifications <= 0.15 * len(rows), clarifications  # mostly direct answers, not questions back
    for language, results in outcomes.items():
        assert sum(results) / len(results) >= 0.7, (language, [w for w in wrong if w[2] == language])
