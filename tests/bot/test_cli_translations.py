"""``yorisoi translations install|list|remove`` as an operator uses them (run in-process)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from tests.translations.tiny_argos import build_tiny_package
from translations.argos_packages import argos_environment

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny ja→en and en→vi packages (a ja→vi pivot), built once for this module."""
    workdir = tmp_path_factory.mktemp("tiny-argos-cli")
    return {
        "ja_en": build_tiny_package(workdir, "ja", "en", words={"こんにちは": "hello"}),
        "en_vi": build_tiny_package(workdir, "en", "vi", words={"hello": "chào"}),
    }


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def run(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> Run:
    """``yorisoi --config <tmp config> translations ...`` → (exit code, stdout, stderr)."""
    config = tmp_path / "config.yml"
    config.write_text(f"bots:\n  library:\n    topic_groups: [library]\ndata_dir: {data_dir}\n", encoding="utf-8")
    for variable in argos_environment(data_dir):  # the command sets them process-wide: restore them afterwards
        monkeypatch.delenv(variable, raising=False)

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(["--config", str(config), "translations", *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def test_nothing_installed_is_said_plainly(run: Run, data_dir: Path) -> None:
    code, out, err = run("list")
    assert code == 0 and err == ""
    assert "no translation packages installed" in out and str(data_dir / "argos-packages") in out


def test_install_list_remove(run: Run, archives: dict[str, Path], data_dir: Path) -> None:
    code, out, _ = run("install", str(archives["ja_en"]))
    assert code == 0 and "installed ja → en version 1.0" in out
    assert (data_dir / "argos-packages" / "translate-ja_en-1_0" / "metadata.json").is_file()
    assert run("install", str(archives["en_vi"]))[0] == 0

    code, out, _ = run("list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["from", "to", "version", "package", "dir"]
    assert lines[1].split() == ["en", "vi", "1.0", str(data_dir / "argos-packages" / "translate-en_vi-1_0")]
    assert lines[2].split() == ["ja", "en", "1.0", str(data_dir / "argos-packages" / "translate-ja_en-1_0")]
    assert "3 pair(s) available: en → vi, ja → en, ja → vi (via en)" in out

    listed = json.loads(run("list", "--json")[1])
    assert [(p["source"], p["target"], p["version"]) for p in listed["packages"]] == [
        ("en", "vi", "1.0"), ("ja", "en", "1.0")]
    assert {"source": "ja", "target": "vi", "pivot": True} in listed["pairs"]

    code, out, _ = run("install", str(archives["ja_en"]))  # again: replaces the pair
    assert code == 0 and "(replaced version 1.0)" in out

    code, out, _ = run("remove", "ja", "en")
    assert code == 0 and "removed ja → en version 1.0" in out
    code, out, _ = run("list")
    assert "ja → en" not in out and "1 pair(s) available: en → vi" in out
    code, _, err = run("remove", "ja", "en")
    assert code == 2 and "no package translates ja → en" in err


def _zip(path: Path, files: dict[str, str]) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as zipped:
        for name, content in files.items():
            zipped.writestr(name, content)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "absent.argosmodel", "file not found"),
        (lambda tmp: (tmp / "text.argosmodel", (tmp / "text.argosmodel").write_text("hello"))[0],
         "not a zip archive"),
        (lambda tmp: _zip(tmp / "empty.argosmodel", {"p/readme.txt": "x"}), "no metadata.json"),
        (lambda tmp: _zip(tmp / "bad.argosmodel", {"p/metadata.json": "{oops", "p/model/model.bin": "x",
                                                   "p/sentencepiece.model": "x"}), "not valid JSON"),
        (lambda tmp: _zip(tmp / "multi.argosmodel", {"p/metadata.json": json.dumps({"languages": ["ja", "en"]})}),
         "from_code and to_code are required"),
    ],
)
def test_a_bad_file_is_one_clear_line_and_exit_2(
    run: Run, tmp_path: Path, data_dir: Path, make: Callable[[Path], Path], message: str
) -> None:
    archive = make(tmp_path)
    code, out, err = run("install", str(archive))
    assert code == 2 and out == ""
    assert err.startswith("yorisoi translations install: ") and message in err and str(archive) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and ".install-" not in err
    assert "no translation packages installed" in run("list")[1]


def test_the_command_needs_an_action(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run()
    assert exit_info.value.code == 2
