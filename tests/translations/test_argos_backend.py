"""ArgosTranslator on tiny real CTranslate2 packages: direct pairs, pivots, placeholders, no model, no network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.translations.conftest import TinyArchives
from translations.argos_backend import ArgosTranslator
from translations.argos_packages import install_package
from translations.mt import Note, Translator

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("no_network")


def test_it_is_a_translator(argos: ArgosTranslator) -> None:
    assert isinstance(argos, Translator)


def test_direct_pair(argos: ArgosTranslator) -> None:
    result = argos.translate("こんにちは", "ja", "en")
    assert (result.text, result.language, result.route) == ("hello", "en", ("ja", "en"))
    assert result.machine_translated and result.available and result.original == "こんにちは"
    assert result.provider.startswith("argos:ja-en@1.0#")


def test_pivot_through_english(argos: ArgosTranslator) -> None:
    result = argos.translate("こんにちは", "ja", "vi")
    assert (result.text, result.route) == ("chào", ("ja", "en", "vi"))  # both word maps applied
    assert result.provider == argos.model_version("ja", "vi")
    assert result.provider.count("+") == 1 and "en-vi@1.0" in result.provider


def test_placeholders_pass_through_the_model(argos: ArgosTranslator) -> None:
    assert argos.translate("XG1Xをください。XG2X", "ja", "en").text == "XG1Xをください。 XG2X"


def test_lines_and_sentences_are_kept(argos: ArgosTranslator) -> None:
    text = "こんにちは。区役所はどこですか。\n\nこんにちは"
    assert argos.translate(text, "ja", "en").text == "hello。 区役所はどこですか。\n\nhello"


def test_missing_pair_returns_the_original_without_raising(argos: ArgosTranslator) -> None:
    result = argos.translate("xin chào", "vi", "ne")
    assert (result.text, result.available, result.machine_translated, result.note) == (
        "xin chào", False, False, Note.NO_MODEL,
    )
    assert argos.model_version("vi", "ne") is None
    assert argos.translate("hello", "en", "ko").note is Note.NO_MODEL


def test_same_language_and_easy_japanese(argos: ArgosTranslator) -> None:
    same = argos.translate("ごみの日", "ja", "ja-x-easy")
    assert same.text == "ごみの日" and not same.machine_translated and same.note is Note.EASY_AS_JAPANESE
    easy = argos.translate("hello", "en", "ja-x-easy")
    assert (easy.text, easy.language, easy.note) == ("こんにちは", "ja", Note.EASY_AS_JAPANESE)
    from_easy = argos.translate("こんにちは", "ja-x-easy", "en")
    assert from_easy.text == "hello" and from_easy.route == ("ja", "en")


def test_available_pairs_include_pivots(argos: ArgosTranslator) -> None:
    assert argos.available_pairs() == {("ja", "en"), ("en", "vi"), ("en", "ja"), ("ja", "vi")}


def test_packages_installed_while_running_are_picked_up(tiny_archives: TinyArchives, fresh_packages_dir: Path) -> None:
    translator = ArgosTranslator(fresh_packages_dir, beam_size=1)
    assert translator.translate("こんにちは", "ja", "en").available is False
    install_package(tiny_archives.ja_en, fresh_packages_dir)
    first = translator.translate("こんにちは", "ja", "en")
    assert first.text == "hello"
    install_package(tiny_archives.ja_en_v2, fresh_packages_dir)
    second = translator.translate("こんにちは", "ja", "en")
    assert second.text == "hi" and second.provider != first.provider and "@2.0#" in second.provider


def test_a_broken_model_raises_for_the_pipeline_to_catch(tmp_path: Path, tiny_archives: TinyArchives) -> None:
    packages_dir = tmp_path / "packages"
    info = install_package(tiny_archives.ja_en, packages_dir)
    (info.path / "model" / "model.bin").write_bytes(b"garbage")
    with pytest.raises(Exception):  # noqa: B017 (whatever CTranslate2 raises)
        ArgosTranslator(packages_dir).translate("こんにちは", "ja", "en")


def test_translating_never_imports_argostranslate_nor_writes_home(installed_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import sys; from pathlib import Path; from translations.argos_backend import ArgosTranslator;"
        "result = ArgosTranslator(Path(sys.argv[1])).translate('こんにちは。', 'ja', 'vi');"
        "assert result.text == 'chào。', result; assert 'argostranslate' not in sys.modules, 'argostranslate imported'"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ARGOS_"))} | {"HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-c", code, str(installed_dir)], capture_output=True, text=True, cwd=ROOT, env=environment
    )
    assert result.returncode == 0, result.stderr
    assert list(home.iterdir()) == []
