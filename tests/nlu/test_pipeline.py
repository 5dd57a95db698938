"""The engine-facing pipeline on a small training set built here."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from nlu.artifact import IncompatibleModelError
from nlu.encoders import EmbeddingCache
from nlu.pipeline import NluPipeline
from nlu.types import OUT_OF_SCOPE, NluSettings


def test_in_scope_questions(small_pipeline: NluPipeline) -> None:
    result = small_pipeline.parse("city", "住民票がほしいです", preferred_language="ja")
    assert result.topic == "resident_certificate"
    assert result.language == "ja"
    assert 0.0 < result.confidence <= 1.0
    assert result.candidates[0].topic == "resident_certificate"
    assert len(result.candidates) == 3 and OUT_OF_SCOPE not in {c.topic for c in result.candidates}
    english = small_pipeline.parse("lib", "When does the library close today?")
    assert english.topic == "library_hours" and english.language == "en"


def test_keyword_only_japanese(small_pipeline: NluPipeline) -> None:
    assert small_pipeline.parse("city", "住民票").topic == "resident_certificate"


def test_out_of_scope(small_pipeline: NluPipeline) -> None:
    for text in ("will it rain in London this weekend?", "面白いジョークを言って"):
        assert small_pipeline.parse("city", text).topic == OUT_OF_SCOPE, text


def test_question_for_another_bot(small_pipeline: NluPipeline) -> None:
    result = small_pipeline.parse("lib", "燃えるごみの収集日はいつですか")
    assert result.topic == OUT_OF_SCOPE
    assert result.other_bot == "city" and result.other_bot_topic == "garbage_collection_day"


def test_ambiguity_margin(trained_dirs: tuple[Path, Path]) -> None:
    model_dir, cache_dir = trained_dirs
    strict = NluPipeline.load(model_dir, NluSettings(ambiguity_margin=1.01), cache_dir)
    relaxed = NluPipeline.load(model_dir, NluSettings(ambiguity_margin=0.0), cache_dir)
    assert strict.parse("city", "住民票がほしい").ambiguous
    assert not relaxed.parse("city", "住民票がほしい").ambiguous


def test_min_confidence_override(trained_dirs: tuple[Path, Path]) -> None:
    model_dir, cache_dir = trained_dirs
    picky = NluPipeline.load(model_dir, NluSettings(min_confidence=0.999), cache_dir)
    assert picky.parse("city", "区役所は何時まで？").topic == OUT_OF_SCOPE


def test_entities_and_language_in_result(small_pipeline: NluPipeline) -> None:
    result = small_pipeline.parse("city", "東地区のごみの日は明日ですか", today=date(2026, 11, 24))
    assert result.topic == "garbage_collection_day"
    kinds = {(e.type, e.value) for e in result.entities}
    assert ("district", "higashi") in kinds and ("date", "2026-11-25") in kinds


def test_short_message_uses_preferred_language(small_pipeline: NluPipeline) -> None:
    result = small_pipeline.parse("city", "ok", preferred_language="vi")
    assert result.language == "vi"


def test_empty_message_does_not_crash(small_pipeline: NluPipeline) -> None:
    for text in ("", "   ", "🙂🙂"):
        result = small_pipeline.parse("city", text, preferred_language="en")
        assert result.topic == OUT_OF_SCOPE and result.confidence == 0.0 and result.language == "en"


def test_unknown_bot(small_pipeline: NluPipeline) -> None:
    with pytest.raises(KeyError):
        small_pipeline.parse("nope", "hello")


def test_load_does_not_embed_training_examples(trained_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    model_dir, cache_dir = trained_dirs
    before = len(EmbeddingCache(cache_dir))
    NluPipeline.load(model_dir, NluSettings(), tmp_path / "empty-cache")
    assert len(EmbeddingCache(cache_dir)) == before


def test_retraining_hits_the_cache(trained_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    from tests.nlu.conftest import small_bots

    _, cache_dir = trained_dirs
    report = NluPipeline.train(small_bots(), NluSettings(), tmp_path / "model", cache_dir)
    assert report.cache_misses == 0 and report.cache_hits > 0


def test_incompatible_encoder_is_refused(trained_dirs: tuple[Path, Path]) -> None:
    model_dir, cache_dir = trained_dirs
    settings = dataclasses.replace(NluSettings(), encoder_model="enpt")
    with pytest.raises(IncompatibleModelError):
        NluPipeline.load(model_dir, settings, cache_dir)
