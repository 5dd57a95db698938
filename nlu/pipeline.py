"""The NLU as the dialogue engine uses it: train, load, detect the language, parse.

Typical use::

    bots = {bot: load_bot_training_data(DEFAULT_DATA_DIR, bot, topics[bot], kb_questions[bot])
            for bot in ("city_hall", "residents", "library")}
    settings = NluSettings(languages=config.languages)
    report = NluPipeline.train(bots, settings, model_dir=Path("var/nlu"), cache_dir=Path("var/cache"))
    nlu = NluPipeline.load(Path("var/nlu"), settings, cache_dir=Path("var/cache"))
    result = nlu.parse("city_hall", "住民票がほしい", preferred_language="ja")

The artifact (a directory) holds, per bot, a calibrated :class:`TopicClassifier`
and its entity resources, plus a *router* classifier over every bot's topics
that recognises questions belonging to another bot. Loading reads arrays and
JSON only; nothing is embedded again.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from nlu.artifact import ARTIFACT_FORMAT, check_compatible, write_atomically
from nlu.classifier import TopicClassifier
from nlu.encoders import CachedEncoder, EmbeddingCache, Encoder, build_encoder
from nlu.entities import EntityExtractor, infer_synonym_types
from nlu.heads import CharTfidf
from nlu.langid import LanguageDetector
from nlu.normalize import normalize
from nlu.training_data import SYSTEM_TOPICS, training_data_hash
from nlu.types import (
    OUT_OF_SCOPE,
    BotTrainingData,
    Candidate,
    EntityResources,
    NluResult,
    NluSettings,
    TrainReport,
)

ROUTER = "_router"
#: A question is another bot's when the router gives that bot's topic at least this ...
OTHER_BOT_MIN_PROBABILITY = 0.6
#: ... and this bot's own topics (system ones included) together at most this.
OTHER_BOT_MAX_OWN_MASS = 0.15
#: When the message is out of scope anyway, suggest another bot from this probability on.
OTHER_BOT_SUGGEST_PROBABILITY = 0.4
CANDIDATES = 3
#: Query embeddings kept in memory (never on disk): repeated short messages skip the encoder.
QUERY_CACHE_SIZE = 4096
#: The encoder is skipped only when the lexical top-1 is at least this far above the OOS threshold.
SKIP_OOS_MARGIN = 0.2


class NluPipeline:
    """Language detection + topic classification + entities for every bot."""

    def __init__(self, settings: NluSettings, encoder: Encoder, classifiers: Mapping[str, TopicClassifier],
                 router: TopicClassifier | None, extractors: Mapping[str, EntityExtractor],
                 topics: Mapping[str, tuple[str, ...]], metadata: Mapping[str, Any]) -> None:
        self.settings = settings
        self.encoder = encoder
        self.classifiers = dict(classifiers)
        self.router = router
        self.extractors = dict(extractors)
        self.topics = dict(topics)
        self.metadata = dict(metadata)
        self.language_detector = LanguageDetector(settings.languages)
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_cache_lock = threading.Lock()
        self._owner: dict[str, str] = {}
        for bot, bot_topics in self.topics.items():
            for topic in bot_topics:
                if topic not in SYSTEM_TOPICS:
                    self._owner.setdefault(topic, bot)

    @property
    def bots(self) -> tuple[str, ...]:
        """The bots this model serves."""
        return tuple(self.classifiers)

    # ------------------------------------------------------------------ train
    @classmethod
    def train(cls, bots: Mapping[str, BotTrainingData], settings: NluSettings, model_dir: Path,
              cache_dir: Path) -> TrainReport:
        """Embed every example (through the disk cache), fit and calibrate, write ``model_dir``."""
        started = time.perf_counter()
        encoder = CachedEncoder(build_encoder(settings.encoder_backend, settings.encoder_model,
                                              settings.encoder_threads), EmbeddingCache(cache_dir))
        rows = {bot: _labelled_rows(data) for bot, data in bots.items()}
        unique = sorted({normalize(text) for bot_rows in rows.values() for text, _ in bot_rows})
        embed_started = time.perf_counter()
        vectors = encoder.encode(unique, "query") if unique else np.zeros((0, encoder.dim), np.float32)
        embed_seconds = time.perf_counter() - embed_started
        row_of = {text: i for i, text in enumerate(unique)}
        encoder.cache.close()
        raw_texts = sorted({text for bot_rows in rows.values() for text, _ in bot_rows})
        tfidf = CharTfidf.fit(raw_texts)
        tfidf_rows = tfidf.transform(raw_texts)
        tfidf_row_of = {text: i for i, text in enumerate(raw_texts)}

        warnings: list[str] = []
        classifiers: dict[str, TopicClassifier] = {}
        for bot, bot_rows in rows.items():
            labels = [label for _, label in bot_rows]
            if len(set(labels)) < 2:
                raise ValueError(f"bot {bot}: need examples of at least two topics to train")
            missing = [t for t in bots[bot].topics if t not in set(labels)]
            if missing:
                warnings.append(f"{bot}: no examples for {', '.join(missing)}")
            embeddings = vectors[[row_of[normalize(text)] for text, _ in bot_rows]]
            features = tfidf_rows[[tfidf_row_of[text] for text, _ in bot_rows]]
            classifiers[bot] = TopicClassifier.train([t for t, _ in bot_rows], labels, embeddings, tfidf=tfidf,
                                                     features=features)
        router = None
        if len(rows) > 1:
            merged = sorted({(text, label) for bot_rows in rows.values() for text, label in bot_rows})
            router = TopicClassifier.train(
                [t for t, _ in merged], [lbl for _, lbl in merged],
                vectors[[row_of[normalize(text)] for text, _ in merged]], calibrate=False, tfidf=tfidf,
                features=tfidf_rows[[tfidf_row_of[text] for text, _ in merged]])

        data_hash = training_data_hash(bots.values())
        metadata = {
            "format": ARTIFACT_FORMAT, "encoder": encoder.name, "dim": encoder.dim, "data_hash": data_hash,
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "bots": list(bots),
            "topics": {bot: list(data.topics) for bot, data in bots.items()},
            "calibration": {bot: clf.calibration.__dict__ for bot, clf in classifiers.items()},
        }

        def write(folder: Path) -> None:
            for bot, classifier in classifiers.items():
                classifier.save(folder / "bots" / bot)
                _save_entities(folder / "bots" / bot, bots[bot])
            if router is not None:
                router.save(folder / ROUTER)
            (folder / "metadata.json").write_text(json.dumps(metadata, indent=2, ensure_ascii=False),
                                                  encoding="utf-8")

        write_atomically(model_dir, write)
        calibrations = [clf.calibration for clf in classifiers.values()]
        return TrainReport(
            model_dir=str(model_dir), bots={bot: len(r) for bot, r in rows.items()},
            examples=sum(len(r) for r in rows.values()), classes=len({lbl for r in rows.values() for _, lbl in r}),
            encoder=encoder.name, data_hash=data_hash, seconds=time.perf_counter() - started,
            embed_seconds=embed_seconds, cache_hits=encoder.hits, cache_misses=encoder.misses,
            validation_accuracy=float(np.mean([c.validation_accuracy for c in calibrations])),
            oos_threshold=float(np.mean([c.threshold for c in calibrations])), warnings=tuple(warnings),
        )

    # ------------------------------------------------------------------- load
    @classmethod
    def load(cls, model_dir: Path, settings: NluSettings, cache_dir: Path) -> NluPipeline:
        """Read a trained artifact. The encoder in ``settings`` must be the one it was trained with."""
        metadata: dict[str, Any] = json.loads((model_dir / "metadata.json").read_text(encoding="utf-8"))
        encoder = build_encoder(settings.encoder_backend, settings.encoder_model, settings.encoder_threads)
        check_compatible(metadata, encoder.name, encoder.dim, model_dir)
        classifiers, extractors = {}, {}
        for bot in metadata["bots"]:
            folder = model_dir / "bots" / bot
            classifiers[bot] = TopicClassifier.load(folder)
            extractors[bot] = _load_entities(folder)
        router = TopicClassifier.load(model_dir / ROUTER) if (model_dir / ROUTER).is_dir() else None
        topics = {bot: tuple(items) for bot, items in metadata["topics"].items()}
        return cls(settings, encoder, classifiers, router, extractors, topics, metadata)

    # ------------------------------------------------------------------ parse
    def detect_language(self, text: str, preferred: str | None = None) -> tuple[str, float]:
        """(configured language, confidence); short or ambiguous text keeps ``preferred``."""
        return self.language_detector.detect(text, preferred)

    def parse(self, bot: str, text: str, *, preferred_language: str | None = None,
              today: date | None = None) -> NluResult:
        """Understand one message for ``bot``. Never raises on odd input (empty text -> out_of_scope)."""
        if bot not in self.classifiers:
            raise KeyError(f"unknown bot {bot!r}; trained bots: {', '.join(self.classifiers)}")
        normalized = normalize(text or "")
        if not normalized:
            language = preferred_language if preferred_language in self.settings.languages else (
                self.language_detector.default_language)
            return NluResult(language, 0.0, OUT_OF_SCOPE, 0.0, (), False, (), "")
        language, language_confidence = self.detect_language(text, preferred_language)
        classifier = self.classifiers[bot]
        threshold = self.settings.min_confidence
        if threshold is None:
            threshold = classifier.calibration.threshold
        features = classifier.tfidf.transform([text])
        embedding = self._cached_query(normalized)
        ranked: list[tuple[str, float]] | None = None
        if embedding is None and self.settings.encoder_skip:
            predictions, margins = classifier.predict_lexical(features)
            lexical = predictions[0].ranked()
            if float(margins[0]) >= classifier.calibration.skip_margin and self._may_skip(bot, text, lexical,
                                                                                           threshold):
                ranked = lexical
        skipped = ranked is not None
        if ranked is None:
            if embedding is None:
                embedding = self._embed_query(normalized)
            ranked = classifier.predict([text], embedding, features)[0].ranked()
        in_scope = [(topic, p) for topic, p in ranked if topic != OUT_OF_SCOPE]
        p_oos = next((p for topic, p in ranked if topic == OUT_OF_SCOPE), 0.0)
        candidates = tuple(Candidate(topic, round(p, 4)) for topic, p in in_scope[:CANDIDATES])
        best_topic, best_p = in_scope[0] if in_scope else (OUT_OF_SCOPE, 0.0)
        if ranked[0][0] == OUT_OF_SCOPE:
            topic, confidence = OUT_OF_SCOPE, p_oos
        elif best_p < threshold:
            topic, confidence = OUT_OF_SCOPE, 1.0 - best_p
        else:
            topic, confidence = best_topic, best_p
        second_p = in_scope[1][1] if len(in_scope) > 1 else 0.0
        ambiguous = topic != OUT_OF_SCOPE and best_p - second_p < self.settings.ambiguity_margin
        other_bot, other_topic, other_p = None, None, 0.0
        if embedding is not None:  # a skipped parse passed the router's lexical check (_may_skip)
            other_bot, other_topic, other_p = self._other_bot(bot, text, embedding, topic == OUT_OF_SCOPE)
        if other_bot is not None and topic != OUT_OF_SCOPE:
            topic, confidence, ambiguous = OUT_OF_SCOPE, other_p, False
        entities = self.extractors[bot].extract(text, today)
        return NluResult(language, round(language_confidence, 4), topic, round(float(confidence), 4), candidates,
                         ambiguous, entities, normalized, other_bot, other_topic, skipped)

    def _may_skip(self, bot: str, text: str, lexical: list[tuple[str, float]], threshold: float) -> bool:
        """Whether the lexical head alone decides, its SVM margin being >= the calibrated ``skip_margin``.

        See :mod:`nlu.classifier` ("Encoder skip"). Also required: an in-scope top-1 whose lexical
        probability is at least :data:`SKIP_OOS_MARGIN` above the OOS threshold in use, and the router's
        lexical head putting the message in this bot's own topics (else the embedding router must
        decide whether it belongs to another bot).
        """
        top_topic, top_p = lexical[0]
        if top_topic == OUT_OF_SCOPE or top_p < threshold + SKIP_OOS_MARGIN:
            return False
        if self.router is not None:
            routed = self.router.predict_lexical(self.router.tfidf.transform([text]))[0][0].ranked()[0][0]
            if routed not in set(self.topics.get(bot, ())) | set(SYSTEM_TOPICS):
                return False
        return True

    def _cached_query(self, normalized: str) -> np.ndarray | None:
        with self._query_cache_lock:
            cached = self._query_cache.get(normalized)
            if cached is not None:
                self._query_cache.move_to_end(normalized)
            return cached

    def _embed_query(self, normalized: str) -> np.ndarray:
        cached = self._cached_query(normalized)
        if cached is not None:
            return cached
        embedding = self.encoder.encode([normalized], "query")
        with self._query_cache_lock:
            self._query_cache[normalized] = embedding
            if len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return embedding

    def _other_bot(self, bot: str, text: str, embedding: np.ndarray,
                   already_out_of_scope: bool) -> tuple[str | None, str | None, float]:
        """(bot, topic, probability) of another bot that fits clearly better, else Nones."""
        if self.router is None:
            return None, None, 0.0
        ranked = self.router.predict([text], embedding)[0].ranked()
        own = set(self.topics.get(bot, ())) | set(SYSTEM_TOPICS)
        own_mass = sum(p for topic, p in ranked if topic in own)
        for topic, p in ranked:
            owner = self._owner.get(topic)
            if owner is None or owner == bot or topic in own:
                continue
            needed = OTHER_BOT_SUGGEST_PROBABILITY if already_out_of_scope else OTHER_BOT_MIN_PROBABILITY
            if p >= needed and (already_out_of_scope or own_mass <= OTHER_BOT_MAX_OWN_MASS):
                return owner, topic, p
            break
        return None, None, 0.0


def _labelled_rows(data: BotTrainingData) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for topic, examples in data.examples.items():
        for example in examples:
            key = (normalize(example.text), topic)
            if key[0] and key not in seen:
                seen.add(key)
                rows.append((example.text, topic))
    return rows


def _save_entities(folder: Path, data: BotTrainingData) -> None:
    examples = [example for items in data.examples.values() for example in items]
    payload = {
        "regexes": data.resources.regexes, "lookups": data.resources.lookups,
        "synonyms": data.resources.synonyms,
        "synonym_types": infer_synonym_types(data.resources.synonyms, examples),
    }
    (folder / "entities.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")


def _load_entities(folder: Path) -> EntityExtractor:
    payload: dict[str, Any] = json.loads((folder / "entities.json").read_text(encoding="utf-8"))
    resources = EntityResources(
        regexes={k: tuple(v) for k, v in payload["regexes"].items()},
        lookups={k: tuple(v) for k, v in payload["lookups"].items()},
        synonyms={k: tuple(v) for k, v in payload["synonyms"].items()},
    )
    return EntityExtractor(resources, payload.get("synonym_types", {}))


def remove_model(model_dir: Path) -> None:
    """Delete a trained artifact directory (used by tests and ``yorisoi train --clean``)."""
    shutil.rmtree(model_dir, ignore_errors=True)
