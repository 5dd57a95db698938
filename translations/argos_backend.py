"""Machine translation with Argos Translate packages, run directly on CTranslate2 and SentencePiece.

Argos Translate's own ``translate()`` splits sentences with Stanza/MiniSBD, which may
download models at translate time; :class:`ArgosTranslator` never goes there. It reads
the installed packages itself (:mod:`translations.argos_packages`), splits sentences
with :mod:`translations.sentences`, tokenizes with the package's SentencePiece model and
calls ``ctranslate2.Translator.translate_batch`` with Argos's decoding settings. Only a
package with an old BPE tokenizer imports ``argostranslate.tokenizer`` (which reads no
settings and writes nothing). Models are loaded lazily, at most ``max_loaded_models`` at
a time, and packages installed or removed while running are picked up on the next call.

A pair without a package is translated through English when both halves exist
(ja → en → vi); otherwise the original text comes back with ``available=False``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from translations.argos_packages import PackageInfo, configure_environment, list_packages, packages_dir_for
from translations.mt import Note, Translation, mt_language
from translations.sentences import join_sentences, split_sentences

PIVOT = "en"
PROVIDER_PREFIX = "argos:"


class _Tokenizer(Protocol):
    def encode(self, sentence: str) -> list[str]: ...

    def decode(self, tokens: list[str]) -> str: ...


class _SentencePiece:
    """SentencePiece pieces in and out; unknown pieces copied from the source are kept as text."""

    def __init__(self, model_file: Path) -> None:
        import sentencepiece

        self._processor = sentencepiece.SentencePieceProcessor(model_file=str(model_file))

    def encode(self, sentence: str) -> list[str]:
        return list(self._processor.encode(sentence, out_type=str))

    def decode(self, tokens: list[str]) -> str:
        return str(self._processor.decode_pieces(tokens)).replace("▁", " ")


class _Model:
    """One loaded package: its CTranslate2 translator and tokenizer."""

    def __init__(self, package: PackageInfo, options: dict[str, Any]) -> None:
        import ctranslate2

        self.package = package
        self._beam_size = int(options.pop("beam_size"))
        self._translator = ctranslate2.Translator(str(package.path / "model"), **options)
        self._tokenizer = self._load_tokenizer(package)

    @staticmethod
    def _load_tokenizer(package: PackageInfo) -> _Tokenizer:
        if package.tokenizer == "sentencepiece":
            return _SentencePiece(package.path / "sentencepiece.model")
        from argostranslate.tokenizer import BPETokenizer  # old packages only; needs sacremoses

        tokenizer: _Tokenizer = BPETokenizer(package.path / "bpe.model", package.from_code, package.to_code)
        return tokenizer

    def translate_sentences(self, sentences: Sequence[str]) -> list[str]:
        """Translate a batch of sentences (one output per input, in order)."""
        if not sentences:
            return []
        tokenized = [self._tokenizer.encode(sentence) for sentence in sentences]
        prefix = self.package.target_prefix
        longest = max(len(tokens) for tokens in tokenized)
        results = self._translator.translate_batch(
            tokenized,
            target_prefix=[[prefix]] * len(tokenized) if prefix else None,
            replace_unknowns=True,
            beam_size=self._beam_size,
            num_hypotheses=1,
            length_penalty=0.2,
            max_batch_size=32,
            max_decoding_length=min(512, 2 * longest + 32),
        )
        outputs = []
        for result in results:
            value = self._tokenizer.decode(list(result.hypotheses[0]))
            if prefix and value.lstrip().startswith(prefix):
                value = value.lstrip()[len(prefix):]
            outputs.append(value.strip())
        return outputs


class ArgosTranslator:
    """:class:`translations.mt.Translator` over the Argos packages in ``packages_dir``."""

    def __init__(
        self,
        packages_dir: Path,
        *,
        beam_size: int = 4,
        device: str = "cpu",
        compute_type: str = "auto",
        inter_threads: int = 1,
        intra_threads: int = 0,
        max_loaded_models: int = 6,
    ) -> None:
        self.packages_dir = Path(packages_dir)
        self._options: dict[str, Any] = {
            "beam_size": beam_size,
            "device": device,
            "compute_type": compute_type,
            "inter_threads": inter_threads,
            "intra_threads": intra_threads,
        }
        self._max_loaded = max(1, max_loaded_models)
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[str, int], ...] | None = None
        self._index: dict[tuple[str, str], PackageInfo] = {}
        self._versions: dict[Path, str] = {}
        self._models: OrderedDict[Path, _Model] = OrderedDict()

    @classmethod
    def from_data_dir(cls, data_dir: Path, **options: Any) -> ArgosTranslator:
        """Set argostranslate's environment under ``data_dir`` and use ``<data_dir>/argos-packages``."""
        configure_environment(data_dir)
        return cls(packages_dir_for(data_dir), **options)

    # -- the Translator protocol ---------------------------------------------------------

    def translate(self, text: str, source: str, target: str) -> Translation:
        """Translate ``text``; the original with ``available=False`` when no package serves the pair."""
        source_mt, target_mt = mt_language(source), mt_language(target)
        if source_mt == target_mt:
            return Translation.identity(text, source, target)
        route = self.route(source, target)
        if route is None:
            return Translation.untranslated(text, source, target, Note.NO_MODEL)
        version = self._version_of(route)
        current = text
        for package in route:
            current = self._translate_text(self._model(package), current, package.source, package.target)
        note = Note.EASY_AS_JAPANESE if target == "ja-x-easy" else None
        languages = (source_mt, *(package.target for package in route))
        return Translation(current, target_mt, source, target, text, True, True, version, route=languages, note=note)

    def available_pairs(self) -> frozenset[tuple[str, str]]:
        """Installed pairs plus pivots through English, in Yorisoi codes (``ja-x-easy`` not listed)."""
        index = self._current_index()
        into_pivot = {source for source, target in index if target == PIVOT}
        from_pivot = {target for source, target in index if source == PIVOT}
        pivots = {(source, target) for source in into_pivot for target in from_pivot if source != target}
        return frozenset(set(index) | pivots)

    def model_version(self, source: str, target: str) -> str | None:
        """``argos:ja-en@1.9#1a2b3c4d+en-vi@1.9#...`` for the route, or None when there is none."""
        if mt_language(source) == mt_language(target):
            return "identity"
        route = self.route(source, target)
        return None if route is None else self._version_of(route)

    def translate_sentences(self, sentences: Sequence[str], source: str, target: str) -> list[str] | None:
        """Translate pre-split sentences in batches (benchmarks, bulk jobs); None when there is no route.

        No sentence splitting, glossary or memory: each input is one model input.
        """
        route = self.route(source, target)
        if route is None:
            return None
        current = list(sentences)
        for package in route:
            model = self._model(package)
            batches = [current[start : start + 64] for start in range(0, len(current), 64)]
            current = [output for batch in batches for output in model.translate_sentences(batch)]
        return current

    # -- packages and models -------------------------------------------------------------

    def route(self, source: str, target: str) -> tuple[PackageInfo, ...] | None:
        """The packages to chain for the pair: one, two through English, () for one language, None if none."""
        source, target = mt_language(source), mt_language(target)
        if source == target:
            return ()
        index = self._current_index()
        if (source, target) in index:
            return (index[source, target],)
        if PIVOT not in (source, target) and (source, PIVOT) in index and (PIVOT, target) in index:
            return (index[source, PIVOT], index[PIVOT, target])
        return None

    def packages(self) -> list[PackageInfo]:
        """The installed packages this translator uses."""
        return list(self._current_index().values())

    def reload(self) -> None:
        """Forget loaded models and rescan the packages directory."""
        with self._lock:
            self._stamp = None
            self._models.clear()

    def _current_index(self) -> dict[tuple[str, str], PackageInfo]:
        stamp = _directory_stamp(self.packages_dir)
        with self._lock:
            if stamp != self._stamp:
                index: dict[tuple[str, str], PackageInfo] = {}
                for package in list_packages(self.packages_dir):
                    index.setdefault((package.source, package.target), package)
                self._index, self._stamp = index, stamp
                self._versions = {package.path: _fingerprint(package) for package in index.values()}
                live = {package.path for package in index.values()}
                for path in [path for path in self._models if path not in live]:
                    del self._models[path]
            return dict(self._index)

    def _version_of(self, route: Sequence[PackageInfo]) -> str:
        with self._lock:
            parts = [self._versions.get(package.path) or _fingerprint(package) for package in route]
        return PROVIDER_PREFIX + "+".join(parts)

    def _model(self, package: PackageInfo) -> _Model:
        with self._lock:
            model = self._models.get(package.path)
            if model is not None:
                self._models.move_to_end(package.path)
                return model
        loaded = _Model(package, dict(self._options))  # seconds for a real model: not under the lock
        with self._lock:
            model = self._models.setdefault(package.path, loaded)
            while len(self._models) > self._max_loaded:
                self._models.popitem(last=False)
            return model

    @staticmethod
    def _translate_text(model: _Model, text: str, source: str, target: str) -> str:
        """Translate line by line (empty lines kept), all sentences in one batch."""
        lines = text.split("\n")
        sentences_per_line = [split_sentences(line, source) for line in lines]
        translated = iter(model.translate_sentences([s for sentences in sentences_per_line for s in sentences]))
        return "\n".join(
            join_sentences([next(translated) for _ in sentences], target) for sentences in sentences_per_line
        )


def _directory_stamp(packages_dir: Path) -> tuple[tuple[str, int], ...]:
    """Names and change times of the package directories: changes when a package is added or replaced."""
    try:
        with os.scandir(packages_dir) as entries:
            return tuple(sorted((entry.name, entry.stat().st_mtime_ns) for entry in entries))
    except OSError:
        return ()


def _fingerprint(package: PackageInfo) -> str:
    """``from-to@version#hash`` of metadata.json and the model's size: the same on every server."""
    digest = hashlib.sha256()
    try:
        digest.update((package.path / "metadata.json").read_bytes())
        digest.update(str((package.path / "model" / "model.bin").stat().st_size).encode())
    except OSError:
        digest.update(package.name.encode())
    return f"{package.from_code}-{package.to_code}@{package.version}#{digest.hexdigest()[:8]}"
