"""Encoder skip: a message the lexical head is sure about is parsed without the sentence encoder."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from nlu.classifier import SKIP_DISABLED
from nlu.pipeline import NluPipeline
from nlu.types import OUT_OF_SCOPE, NluSettings


class CountingEncoder:
    """Wraps the pipeline's encoder and counts ``encode`` calls."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0
        self.name, self.dim = inner.name, inner.dim

    def encode(self, texts: list[str], kind: str) -> np.ndarray:
        self.calls += 1
        result: np.ndarray = self.inner.encode(texts, kind)
        return result


def skipping_pipeline(trained_dirs: tuple[Path, Path], skip_margin: float = 0.8,
                      **settings: Any) -> tuple[NluPipeline, CountingEncoder]:
    """The small pipeline with a skip margin set by hand (its validation split is too small to calibrate one)."""
    model_dir, cache_dir = trained_dirs
    nlu = NluPipeline.load(model_dir, NluSettings(min_confidence=0.5, **settings), cache_dir)
    for classifier in nlu.classifiers.values():
        classifier.calibration = dataclasses.replace(classifier.calibration, skip_margin=skip_margin)
    counter = CountingEncoder(nlu.encoder)
    nlu.encoder = counter  # type: ignore[assignment]
    return nlu, counter


def test_confident_lexical_query_skips_the_encoder(trained_dirs: tuple[Path, Path]) -> None:
    nlu, counter = skipping_pipeline(trained_dirs)
    result = nlu.parse("city", "住民票がほしい")
    assert counter.calls == 0
    assert result.encoder_skipped and result.topic == "resident_certificate"
    assert 0.5 < result.confidence <= 1.0 and not result.ambiguous
    assert result.candidates[0].topic == "resident_certificate" and len(result.candidates) == 3
    assert OUT_OF_SCOPE not in {c.topic for c in result.candidates}
    assert result.other_bot is None


def test_paraphrase_runs_the_encoder(trained_dirs: tuple[Path, Path]) -> None:
    nlu, counter = skipping_pipeline(trained_dirs)
    result = nlu.parse("city", "when do they pick up rubbish in my neighbourhood")
    assert counter.calls == 1 and not result.encoder_skipped
    assert result.topic == "garbage_collection_day"


def test_another_bots_question_is_not_skipped(trained_dirs: tuple[Path, Path]) -> None:
    nlu, counter = skipping_pipeline(trained_dirs, skip_margin=0.0)
    result = nlu.parse("lib", "燃えるごみの収集日はいつですか")
    assert counter.calls == 1 and not result.encoder_skipped
    assert result.topic == OUT_OF_SCOPE and result.other_bot == "city"


def test_skip_can_be_switched_off_and_respects_a_strict_threshold(trained_dirs: tuple[Path, Path]) -> None:
    nlu, counter = skipping_pipeline(trained_dirs, encoder_skip=False)
    assert not nlu.parse("city", "住民票がほしい").encoder_skipped and counter.calls == 1
    strict, strict_counter = skipping_pipeline(trained_dirs)
    strict.settings = dataclasses.replace(strict.settings, min_confidence=0.999)
    assert strict.parse("city", "区役所は何時まで？").topic == OUT_OF_SCOPE and strict_counter.calls == 1


def test_small_validation_split_disables_the_skip(small_pipeline: NluPipeline) -> None:
    for classifier in small_pipeline.classifiers.values():
        assert classifier.calibration.skip_margin == SKIP_DISABLED


def test_old_artifact_without_skip_fields_never_skips(trained_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    model_dir, cache_dir = trained_dirs
    old = tmp_path / "old-model"
    shutil.copytree(model_dir, old)
    for path in old.rglob("calibration.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        for key in ("lexical_temperature", "skip_margin", "validation_skip_rate", "validation_skip_agreement"):
            data.pop(key, None)
        path.write_text(json.dumps(data), encoding="utf-8")
    nlu = NluPipeline.load(old, NluSettings(min_confidence=0.5), cache_dir)
    assert nlu.classifiers["city"].calibration.skip_margin == SKIP_DISABLED
    result = nlu.parse("city", "住民票がほしい")
    assert not result.encoder_skipped and result.topic == "resident_certificate"
