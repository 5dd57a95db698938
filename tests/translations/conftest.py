"""Fixtures for machine translation: tiny Argos packages built on the fly (no downloads)."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.translations.tiny_argos import build_tiny_package
from translations.argos_backend import ArgosTranslator
from translations.argos_packages import install_package
from translations.mt import Translation


@dataclass(frozen=True)
class TinyArchives:
    """``.argosmodel`` files: ja→en (こんにちは→hello), en→vi (hello→chào), en→ja (hello→こんにちは),
    and ja→en version 2.0 (こんにちは→hi)."""

    ja_en: Path
    en_vi: Path
    en_ja: Path
    ja_en_v2: Path


@pytest.fixture(scope="session")
def tiny_archives(tmp_path_factory: pytest.TempPathFactory) -> TinyArchives:
    """The tiny packages, built once per session."""
    workdir = tmp_path_factory.mktemp("tiny-argos")
    (workdir / "v2").mkdir()
    return TinyArchives(
        ja_en=build_tiny_package(workdir, "ja", "en", words={"こんにちは": "hello"}),
        en_vi=build_tiny_package(workdir, "en", "vi", words={"hello": "chào"}),
        en_ja=build_tiny_package(workdir, "en", "ja", words={"hello": "こんにちは"}),
        ja_en_v2=build_tiny_package(workdir / "v2", "ja", "en", words={"こんにちは": "hi"}, version="2.0"),
    )


@pytest.fixture(scope="session")
def installed_dir(tiny_archives: TinyArchives, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A packages directory with ja→en, en→vi and en→ja installed (shared: do not modify)."""
    packages_dir = tmp_path_factory.mktemp("data") / "argos-packages"
    for archive in (tiny_archives.ja_en, tiny_archives.en_vi, tiny_archives.en_ja):
        install_package(archive, packages_dir)
    return packages_dir


@pytest.fixture(scope="session")
def argos(installed_dir: Path) -> ArgosTranslator:
    """One translator over :func:`installed_dir` (models load once per session)."""
    return ArgosTranslator(installed_dir, beam_size=2)


@pytest.fixture
def fresh_packages_dir(tmp_path: Path) -> Iterator[Path]:
    """An empty packages directory of this test's own."""
    path = tmp_path / "argos-packages"
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


class CountingTranslator:
    """Wraps a translator and counts ``translate`` calls (to prove cache hits skip the model)."""

    def __init__(self, inner: ArgosTranslator) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str, str]] = []

    def translate(self, text: str, source: str, target: str) -> Translation:
        self.calls.append((text, source, target))
        return self.inner.translate(text, source, target)

    def available_pairs(self) -> frozenset[tuple[str, str]]:
        return self.inner.available_pairs()

    def model_version(self, source: str, target: str) -> str | None:
        return self.inner.model_version(source, target)


@pytest.fixture
def counting(argos: ArgosTranslator) -> CountingTranslator:
    """The session translator, wrapped to count model calls."""
    return CountingTranslator(argos)
