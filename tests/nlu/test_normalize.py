"""Normalisation for matching."""

from __future__ import annotations

from nlu.normalize import fold_japanese, normalize


def test_full_width_and_half_width_are_folded() -> None:
    assert normalize("ＡＢＣ　１２３") == "abc 123"
    assert normalize("ｼﾞｭｰﾐﾝﾋｮｳ") == "ジューミンヒョウ"


def test_emoji_and_line_private_use_characters_are_removed() -> None:
    assert normalize("住民票がほしい🙏✨") == "住民票がほしい"
    assert normalize("hello \U000f0000 there 👋🏽") == "hello there"
    assert normalize("👨‍👩‍👧") == ""


def test_whitespace_is_collapsed() -> None:
    assert normalize("  ごみの日\n\tいつ  ") == "ごみの日 いつ"


def test_long_vowel_variants() -> None:
    assert normalize("コ〜ヒ−") == normalize("コーヒー")
    assert fold_japanese("スーーパー") == fold_japanese("すーぱー")


def test_katakana_and_small_kana_fold_for_lexical_matching() -> None:
    assert fold_japanese("ゴミの日") == fold_japanese("ごみの日")
    assert fold_japanese("チケット") == fold_japanese("ちけつと")


def test_original_text_untouched() -> None:
    original = "ＡＢＣ🙂"
    normalize(original)
    assert original == "ＡＢＣ🙂"
