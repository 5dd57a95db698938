"""The SQL translation memory on SQLite and PostgreSQL: keys, overwrites, hit counts, pruning, the pipeline."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.database import create_database_engine, session_factory, upgrade_database
from bot.storage.models import TranslationMemoryEntry
from bot.storage.translation_memory import SqlTranslationMemory
from translations.mt import Note, Translation, TranslationMemory, memory_key, mt_language
from translations.pipeline import TranslationPipeline

PROVIDER = "argos:ja-en@1.0#0123abcd|glossary:feedbeef"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_database_engine(database_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def memory(engine: Engine) -> SqlTranslationMemory:
    return SqlTranslationMemory(session_factory(engine))


def entry(engine: Engine, text: str, provider: str = PROVIDER) -> TranslationMemoryEntry:
    with session_factory(engine)() as session:
        row = session.scalar(select(TranslationMemoryEntry).where(
            TranslationMemoryEntry.key == memory_key(text, "ja", "en", provider)))
        assert row is not None
        return row


def test_it_is_a_translation_memory(memory: SqlTranslationMemory) -> None:
    assert isinstance(memory, TranslationMemory)


def test_put_then_get(memory: SqlTranslationMemory, engine: Engine) -> None:
    assert memory.get("こんにちは", "ja", "en", PROVIDER) is None
    memory.put("こんにちは", "ja", "en", PROVIDER, "hello")
    assert memory.get("こんにちは", "ja", "en", PROVIDER) == "hello"
    assert memory.get("こんにちは", "ja", "vi", PROVIDER) is None
    assert memory.count() == len(memory) == 1
    row = entry(engine, "こんにちは")
    assert (row.source, row.target, row.provider, row.translated_text) == ("ja", "en", PROVIDER, "hello")


def test_full_and_half_width_variants_share_an_entry(memory: SqlTranslationMemory) -> None:
    memory.put("ＡＢＣ　１２３ ｶﾀｶﾅ", "ja", "en", PROVIDER, "abc")
    assert memory.get("  ABC 123   カタカナ ", "ja", "en", PROVIDER) == "abc"
    assert memory.count() == 1


def test_another_provider_misses(memory: SqlTranslationMemory) -> None:
    memory.put("こんにちは", "ja", "en", PROVIDER, "hello")
    assert memory.get("こんにちは", "ja", "en", "argos:ja-en@2.0#99999999|glossary:feedbeef") is None
    assert memory.get("こんにちは", "ja", "en", "argos:ja-en@1.0#0123abcd|glossary:00000000") is None


def test_put_overwrites_also_an_entry_another_server_wrote(memory: SqlTranslationMemory, engine: Engine) -> None:
    memory.put("こんにちは", "ja", "en", PROVIDER, "hello")
    other_server = SqlTranslationMemory(session_factory(engine))
    other_server.put("こんにちは", "ja", "en", PROVIDER, "hi")  # its insert collides: it updates instead
    assert memory.get("こんにちは", "ja", "en", PROVIDER) == "hi"
    assert memory.count() == 1


def test_concurrent_puts_of_one_text_do_not_fail(memory: SqlTranslationMemory) -> None:
    errors: list[BaseException] = []

    def put(number: int) -> None:
        try:
            memory.put("同じ文", "ja", "en", PROVIDER, f"same {number}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=put, args=(number,)) for number in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and memory.count() == 1
    assert (memory.get("同じ文", "ja", "en", PROVIDER) or "").startswith("same ")


def test_hits_are_counted(memory: SqlTranslationMemory, engine: Engine) -> None:
    memory.put("こんにちは", "ja", "en", PROVIDER, "hello")
    stored = entry(engine, "こんにちは")
    assert stored.hits == 0
    for _ in range(3):
        memory.get("こんにちは", "ja", "en", PROVIDER)
    memory.get("さようなら", "ja", "en", PROVIDER)  # a miss counts nothing
    used = entry(engine, "こんにちは")
    assert used.hits == 3 and used.last_used_at >= stored.last_used_at


class _WritesFail:
    """Sessions that read but cannot write (a busy or read-only database)."""

    def __init__(self, inner: sessionmaker[Session]) -> None:
        self._inner = inner

    def __call__(self) -> Session:
        return self._inner()

    def begin(self) -> None:
        raise OperationalError("UPDATE translation_memory", {}, Exception("database is locked"))


def test_a_failed_hit_count_still_returns_the_hit(memory: SqlTranslationMemory, engine: Engine) -> None:
    memory.put("こんにちは", "ja", "en", PROVIDER, "hello")
    read_only = SqlTranslationMemory(_WritesFail(session_factory(engine)))  # type: ignore[arg-type]
    assert read_only.get("こんにちは", "ja", "en", PROVIDER) == "hello"
    assert entry(engine, "こんにちは").hits == 0


def test_prune_keeps_the_most_recently_used(memory: SqlTranslationMemory) -> None:
    for text in ("一", "二", "三", "四"):
        memory.put(text, "ja", "en", PROVIDER, f"t-{text}")
    assert memory.get("一", "ja", "en", PROVIDER) == "t-一"  # the oldest entry is used again
    assert memory.prune(10) == 0 and memory.count() == 4
    assert memory.prune(2) == 2
    assert memory.count() == 2
    assert {text for text in ("一", "二", "三", "四") if memory.get(text, "ja", "en", PROVIDER)} == {"一", "四"}
    assert memory.prune(0) == 2 and memory.count() == 0
    with pytest.raises(ValueError):
        memory.prune(-1)


WORDS = {"こんにちは": "hello", "ありがとう": "thank you"}


class FakeTranslator:
    """A :class:`translations.mt.Translator` for ja→en that counts its calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def translate(self, text: str, source: str, target: str) -> Translation:
        if (mt_language(source), mt_language(target)) != ("ja", "en"):
            return Translation.untranslated(text, source, target, Note.NO_MODEL)
        self.calls.append(text)
        translated = text
        for japanese, english in WORDS.items():
            translated = translated.replace(japanese, english)
        return Translation(translated, "en", source, target, text, True, True, "fake:ja-en@1", route=("ja", "en"))

    def available_pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset({("ja", "en")})

    def model_version(self, source: str, target: str) -> str | None:
        return "fake:ja-en@1" if (mt_language(source), mt_language(target)) == ("ja", "en") else None


def test_the_pipeline_serves_a_repeated_translation_from_the_database(engine: Engine) -> None:
    translator = FakeTranslator()
    first = TranslationPipeline(translator, SqlTranslationMemory(session_factory(engine)))
    fresh = first.translate("こんにちは", "ja", "en")
    assert (fresh.text, fresh.cached, fresh.machine_translated) == ("hello", False, True)
    again = first.translate("こんにちは", "ja", "en")
    # Another server (or a restart) with its own memory object over the same database.
    second = TranslationPipeline(translator, SqlTranslationMemory(session_factory(engine)))
    elsewhere = second.translate("こんにちは", "ja", "en")
    for cached in (again, elsewhere):
        assert (cached.text, cached.cached, cached.machine_translated, cached.provider) == (
            "hello", True, True, "fake:ja-en@1")
    assert translator.calls == ["こんにちは"]
    private = second.translate("ありがとう", "ja", "en", remember=False)
    assert private.text == "thank you" and SqlTranslationMemory(session_factory(engine)).count() == 1
