"""Installing and listing Argos packages: validated, safe, nothing written outside the data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.translations.conftest import TinyArchives
from translations.argos_packages import (
    argos_codes,
    argos_environment,
    install_package,
    list_packages,
    packages_dir_for,
    remove_package,
    yorisoi_code,
)

ROOT = Path(__file__).resolve().parents[2]


def test_install_then_list(tiny_archives: TinyArchives, fresh_packages_dir: Path) -> None:
    info = install_package(tiny_archives.ja_en, fresh_packages_dir)
    assert (info.from_code, info.to_code, info.source, info.target, info.version) == ("ja", "en", "ja", "en", "1.0")
    assert info.name == "translate-ja_en-1_0" and info.tokenizer == "sentencepiece" and info.size_bytes > 0
    install_package(tiny_archives.en_vi, fresh_packages_dir)
    listed = list_packages(fresh_packages_dir)
    assert [(p.source, p.target) for p in listed] == [("en", "vi"), ("ja", "en")]
    assert listed[1].as_dict()["path"] == str(fresh_packages_dir / "translate-ja_en-1_0")
    assert not [p for p in fresh_packages_dir.iterdir() if p.name.startswith(".")], "staging left behind"


def test_a_new_version_replaces_the_old_one(tiny_archives: TinyArchives, fresh_packages_dir: Path) -> None:
    install_package(tiny_archives.ja_en, fresh_packages_dir)
    install_package(tiny_archives.ja_en_v2, fresh_packages_dir)
    assert [(p.name, p.version) for p in list_packages(fresh_packages_dir)] == [("translate-ja_en-2_0", "2.0")]
    assert [p.name for p in remove_package(fresh_packages_dir, "ja", "en")] == ["translate-ja_en-2_0"]
    assert list_packages(fresh_packages_dir) == []


def test_an_archive_with_metadata_at_its_root_is_accepted(tiny_archives: TinyArchives, tmp_path: Path) -> None:
    flat = tmp_path / "flat.argosmodel"
    with zipfile.ZipFile(tiny_archives.en_vi) as source, zipfile.ZipFile(flat, "w") as target:
        for member in source.infolist():
            if not member.is_dir():
                target.writestr(member.filename.split("/", 1)[1], source.read(member))
    assert install_package(flat, tmp_path / "packages").name == "translate-en_vi-1_0"


def _zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zipped:
        for name, content in files.items():
            zipped.writestr(name, content)
    return path


METADATA = json.dumps({"from_code": "ja", "to_code": "en", "package_version": "1.0"})


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (None, "file not found"),
        ("not a zip", "not a zip archive"),
        ({"p/readme.txt": "x"}, "no metadata.json"),
        ({"p/metadata.json": "{oops", "p/model/model.bin": "x", "p/sentencepiece.model": "x"}, "not valid JSON"),
        ({"p/metadata.json": METADATA, "p/sentencepiece.model": "x"}, "no CTranslate2 model"),
        ({"p/metadata.json": METADATA, "p/model/model.bin": "x"}, "no tokenizer"),
        ({"p/metadata.json": json.dumps({"type": "sbd", "from_code": "ja"})}, "not a translation package"),
        ({"p/metadata.json": json.dumps({"languages": ["ja", "en"]})}, "from_code and to_code are required"),
        ({"../evil/metadata.json": METADATA}, "unsafe path"),
        ({"/abs/metadata.json": METADATA}, "unsafe path"),
    ],
)
def test_invalid_archives_are_refused_clearly(tmp_path: Path, files: object, message: str) -> None:
    archive = tmp_path / "bad.argosmodel"
    if isinstance(files, dict):
        _zip(archive, files)
    elif isinstance(files, str):
        archive.write_text(files, encoding="utf-8")
    packages_dir = tmp_path / "packages"
    with pytest.raises(ValueError, match=message):
        install_package(archive, packages_dir)
    assert not packages_dir.exists() or list(packages_dir.iterdir()) == []
    assert not (tmp_path / "evil").exists()


def test_broken_directories_are_skipped_when_listing(tiny_archives: TinyArchives, fresh_packages_dir: Path) -> None:
    install_package(tiny_archives.ja_en, fresh_packages_dir)
    (fresh_packages_dir / "half-copied").mkdir()
    assert [p.name for p in list_packages(fresh_packages_dir)] == ["translate-ja_en-1_0"]
    assert list_packages(fresh_packages_dir / "missing") == []


def test_argos_language_codes_map_to_yorisoi_codes() -> None:
    assert yorisoi_code("zt") == "zh-Hant" and yorisoi_code("zh") == "zh-Hans" and yorisoi_code("pb") == "pt"
    assert argos_codes("ja-x-easy") == ("ja",) and argos_codes("zh-Hant")[0] == "zt"


def test_argostranslate_writes_only_under_the_data_dir(tmp_path: Path) -> None:
    """With the environment set first, importing argostranslate creates nothing in $HOME and downloads nothing."""
    home, data_dir = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    code = (
        "import sys, socket; from pathlib import Path;"
        "socket.socket.connect = lambda *a, **k: (_ for _ in ()).throw(AssertionError('network'));"
        "from translations.argos_packages import configure_environment; configure_environment(Path(sys.argv[1]));"
        "import argostranslate.settings as s, argostranslate.package as p;"
        "assert p.get_installed_packages() == [];"
        "print(s.package_data_dir)"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ARGOS_"))} | {"HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-c", code, str(data_dir)], capture_output=True, text=True, cwd=ROOT, env=environment
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == packages_dir_for(data_dir.resolve())
    assert list(home.iterdir()) == []
    variables = {"ARGOS_PACKAGES_DIR", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"}
    assert set(argos_environment(data_dir)) >= variables
    assert (data_dir / "xdg" / "cache" / "argos-translate").is_dir()
