"""The pipeline's order: curated → same language → memory → glossary-protected MT; never raises."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.translations.conftest import CountingTranslator
from translations.glossary import Glossary
from translations.mt import InMemoryTranslationMemory, Note, Translation, memory_key
from translations.pipeline import TranslationPipeline, create_pipeline

pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return Glossary.load()


@pytest.fixture
def pipeline(counting: CountingTranslator, glossary: Glossary) -> TranslationPipeline:
    return TranslationPipeline(counting, InMemoryTranslationMemory(), glossary)


def test_machine_translation_is_marked_and_keeps_the_original(pipeline: TranslationPipeline) -> None:
    result = pipeline.translate("こんにちは", "ja", "en")
    assert (result.text, result.machine_translated, result.available, result.cached) == ("hello", True, True, False)
    assert result.original == "こんにちは" and result.provider.startswith("argos:ja-en@1.0")


def test_curated_text_wins_without_calling_the_model(
    pipeline: TranslationPipeline, counting: CountingTranslator
) -> None:
    result = pipeline.translate("こんにちは", "ja", "en", curated={"en": "Good day", "vi": "Xin chào"})
    assert (result.text, result.provider, result.machine_translated) == ("Good day", "curated", False)
    assert pipeline.translate("こんにちは", "ja", "vi", curated={"vi": "Xin chào"}).text == "Xin chào"
    easy = pipeline.translate("hello", "en", "ja-x-easy", curated={"ja": "こんにちは。"})
    assert (easy.text, easy.language, easy.note) == ("こんにちは。", "ja", Note.EASY_AS_JAPANESE)
    assert pipeline.translate("こんにちは", "ja", "en", curated={"en": "  ", "vi": "x"}).provider != "curated"
    assert counting.calls == [("こんにちは", "ja", "en")]  # only the last one (blank curated text) reached the model


def test_second_call_is_served_from_memory(pipeline: TranslationPipeline, counting: CountingTranslator) -> None:
    first = pipeline.translate("こんにちは", "ja", "vi")
    second = pipeline.translate(" こんにちは ", "ja", "vi")
    assert first.text == second.text == "chào"
    assert (first.cached, second.cached) == (False, True) and second.machine_translated
    assert second.provider == first.provider
    assert len(counting.calls) == 1


def test_memory_entries_use_the_documented_key(counting: CountingTranslator, glossary: Glossary) -> None:
    memory = InMemoryTranslationMemory()
    pipeline = TranslationPipeline(counting, memory, glossary)
    pipeline.translate("こんにちは", "ja-x-easy", "en")
    provider = pipeline.provider_id("ja", "en")
    assert provider == f"{counting.model_version('ja', 'en')}|glossary:{glossary.fingerprint}"
    assert memory.get("こんにちは", "ja", "en", provider) == "hello"
    assert memory_key("こんにちは", "ja", "en", provider) in memory._entries


def test_remember_false_keeps_private_text_out_of_memory(counting: CountingTranslator) -> None:
    memory = InMemoryTranslationMemory()
    pipeline = TranslationPipeline(counting, memory)
    pipeline.translate("こんにちは", "ja", "en", remember=False)
    pipeline.translate("こんにちは", "ja", "en", remember=False)
    assert len(memory) == 0 and len(counting.calls) == 2


def test_glossary_terms_are_masked_and_restored(pipeline: TranslationPipeline, counting: CountingTranslator) -> None:
    result = pipeline.translate("こんにちは、住民票をください。", "ja", "en")
    assert result.text == "hello、Certificate of Residence (juminhyo)をください。"
    assert counting.calls[0][0] == "こんにちは、XG1Xをください。"
    vietnamese = pipeline.translate("在留カードと住民票", "ja", "vi")  # pivot: restored once, at the end
    assert vietnamese.text == "Thẻ lưu trú (zairyu card)とPhiếu cư trú (juminhyo)"


def test_easy_japanese_target_is_plain_japanese_with_term_readings(pipeline: TranslationPipeline) -> None:
    result = pipeline.translate("hello, residence card", "en", "ja-x-easy")
    assert result.text == "こんにちは, 在留（ざいりゅう）カード"
    assert (result.language, result.target, result.note) == ("ja", "ja-x-easy", Note.EASY_AS_JAPANESE)
    assert pipeline.translate("hello, residence card", "en", "ja").text == "こんにちは, 在留カード"
    same = pipeline.translate("住民票", "ja", "ja-x-easy")
    assert same.text == "住民票" and same.provider == "identity"


def test_no_model_returns_the_original_and_offers_nothing_else(pipeline: TranslationPipeline) -> None:
    result = pipeline.translate("xin chào", "vi", "ne")
    assert (result.text, result.available, result.machine_translated, result.note) == (
        "xin chào", False, False, Note.NO_MODEL,
    )
    assert not pipeline.can_translate("vi", "ne") and pipeline.can_translate("ja", "vi")
    assert TranslationPipeline().translate("hello", "en", "ja").note is Note.NO_MODEL
    assert TranslationPipeline().translate("hello", "en", "en").provider == "identity"


def test_translate_many_for_everyone_in_a_chat(pipeline: TranslationPipeline) -> None:
    results = pipeline.translate_many("こんにちは", "ja", ["en", "vi", "ja", "ne", "en"])
    assert {target: r.text for target, r in results.items()} == {
        "en": "hello", "vi": "chào", "ja": "こんにちは", "ne": "こんにちは",
    }
    assert results["ne"].available is False


class _Failing:
    """A translator whose model is broken."""

    def translate(self, text: str, source: str, target: str) -> Translation:
        raise RuntimeError("model.bin is corrupt")

    def available_pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset({("ja", "en")})

    def model_version(self, source: str, target: str) -> str | None:
        return "broken@1"


class _LosesPlaceholders(CountingTranslator):
    def translate(self, text: str, source: str, target: str) -> Translation:
        result = super().translate(text, source, target)
        return Translation(result.text.replace("XG1X", "the paper"), **{
            k: getattr(result, k) for k in ("language", "source", "target", "original", "machine_translated",
                                              "available", "provider")
        })


class _BrokenMemory:
    def get(self, source_text: str, source: str, target: str, provider: str) -> str | None:
        raise ConnectionError("database down")

    def put(self, source_text: str, source: str, target: str, provider: str, translated_text: str) -> None:
        raise ConnectionError("database down")


def test_a_failing_model_returns_the_original(glossary: Glossary) -> None:
    result = TranslationPipeline(_Failing(), InMemoryTranslationMemory(), glossary).translate("住民票", "ja", "en")
    assert (result.text, result.available, result.note) == ("住民票", False, Note.FAILED)


def test_a_failing_memory_does_not_stop_translation(counting: CountingTranslator) -> None:
    assert TranslationPipeline(counting, _BrokenMemory()).translate("こんにちは", "ja", "en").text == "hello"


def test_lost_placeholders_fall_back_to_unprotected_translation(
    counting: CountingTranslator, glossary: Glossary
) -> None:
    translator = _LosesPlaceholders(counting.inner)
    memory = InMemoryTranslationMemory()
    result = TranslationPipeline(translator, memory, glossary).translate("住民票", "ja", "en")
    assert (result.text, result.note, result.machine_translated) == ("住民票", Note.GLOSSARY_UNPROTECTED, True)
    assert [call[0] for call in translator.calls] == ["XG1X", "住民票"] and len(memory) == 0


def test_create_pipeline_uses_the_data_dir(installed_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("ARGOS_PACKAGES_DIR", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "ARGOS_DEVICE_TYPE"):
        monkeypatch.setenv(variable, "unset")  # records the original so it is restored after the test
    pipeline = create_pipeline(installed_dir.parent, beam_size=1)
    assert os.environ["ARGOS_PACKAGES_DIR"] == str(installed_dir.resolve())
    assert pipeline.translate("こんにちは、住民票", "ja", "en").text == "hello、Certificate of Residence (juminhyo)"
    assert isinstance(pipeline.memory, InMemoryTranslationMemory) and len(pipeline.memory) == 1
