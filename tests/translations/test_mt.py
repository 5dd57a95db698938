"""Translation results and the translation memory (its key is shared with the SQL memory in bot/)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from translations.mt import (
    InMemoryTranslationMemory,
    Note,
    Translation,
    TranslationMemory,
    memory_key,
    mt_language,
    normalize_for_key,
)

ROOT = Path(__file__).resolve().parents[2]


def test_memory_key_is_sha256_of_normalized_text_pair_and_provider() -> None:
    expected = hashlib.sha256("住民票 123\x1fja\x1fen\x1fargos:ja-en@1.9#x|glossary:y".encode()).hexdigest()
    assert memory_key("  住民票　１２３\n", "ja", "en", "argos:ja-en@1.9#x|glossary:y") == expected
    assert normalize_for_key(" a \t b ") == "a b"
    assert memory_key("a", "ja", "en", "p1") != memory_key("a", "ja", "en", "p2")
    assert memory_key("a", "ja", "en", "p") != memory_key("a", "ja", "vi", "p")


def test_in_memory_translation_memory_is_a_bounded_lru() -> None:
    memory = InMemoryTranslationMemory(max_entries=2)
    assert isinstance(memory, TranslationMemory)
    memory.put("one", "ja", "en", "p", "1")
    memory.put("two", "ja", "en", "p", "2")
    assert memory.get("one", "ja", "en", "p") == "1"  # now the most recent
    memory.put("three", "ja", "en", "p", "3")
    assert memory.get("two", "ja", "en", "p") is None
    assert memory.get(" one ", "ja", "en", "p") == "1" and len(memory) == 2
    assert memory.get("one", "ja", "en", "other-model") is None
    with pytest.raises(ValueError):
        InMemoryTranslationMemory(max_entries=0)


def test_easy_japanese_is_japanese_for_machine_translation() -> None:
    assert mt_language("ja-x-easy") == "ja" and mt_language("vi") == "vi"
    same = Translation.identity("ごみの日", "ja", "ja-x-easy")
    assert same.text == "ごみの日" and same.note is Note.EASY_AS_JAPANESE and not same.machine_translated
    assert Translation.identity("ごみの日", "ja-x-easy", "ja").note is None


def test_untranslated_keeps_the_original_and_says_why() -> None:
    result = Translation.untranslated("xin chào", "vi", "ne", Note.NO_MODEL)
    assert (result.text, result.language) == ("xin chào", "vi")
    assert (result.available, result.machine_translated) == (False, False)
    assert result.original == "xin chào" and result.note is Note.NO_MODEL


def test_importing_the_mt_modules_has_no_side_effects(tmp_path: Path) -> None:
    """No files, no environment changes, and no heavy imports until a model is actually used."""
    code = (
        "import os, sys; os.chdir(sys.argv[1]); before = dict(os.environ);"
        "import translations.mt, translations.sentences, translations.glossary, translations.argos_packages,"
        " translations.argos_backend, translations.pipeline;"
        "assert os.listdir('.') == [], os.listdir('.'); assert dict(os.environ) == before;"
        "heavy = {'ctranslate2', 'sentencepiece', 'argostranslate'} & set(sys.modules); assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
