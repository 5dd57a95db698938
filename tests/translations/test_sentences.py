"""Sentence splitting works offline for every script the city answers in."""

from __future__ import annotations

import pytest

from translations.sentences import MAX_SENTENCE_CHARS, join_sentences, split_sentences


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("ja", "住民票をください。ありがとう！本当!?", ["住民票をください。", "ありがとう！", "本当!?"]),
        ("ja", "本当!?すごい", ["本当!?", "すごい"]),
        ("ja", "「はい。」と言いました。次へ", ["「はい。」と言いました。", "次へ"]),
        ("ja", "「はい。」「いいえ。」", ["「はい。」", "「いいえ。」"]),
        ("ja", "「Hello!」と言いました。", ["「Hello!」と言いました。"]),
        ("zh-Hans", "请带在留卡。几点开门？谢谢", ["请带在留卡。", "几点开门？", "谢谢"]),
        (
            "en",
            "Mr. Tanaka is here. He waits, e.g. outside. OK? Yes!",
            ["Mr. Tanaka is here.", "He waits, e.g. outside.", "OK?", "Yes!"],
        ),
        ("en", "1. Bring your card. 2. Go to the ward office.", ["1. Bring your card.", "2. Go to the ward office."]),
        ("en", "It costs 3.5 dollars at www.city.example.jp.", ["It costs 3.5 dollars at www.city.example.jp."]),
        ("es", "“Hola.” Dijo él. ¿Vienes? Sí.", ["“Hola.”", "Dijo él.", "¿Vienes?", "Sí."]),
        ("vi", "Xin chào. Tôi cần giúp đỡ.", ["Xin chào.", "Tôi cần giúp đỡ."]),
        ("ko", "감사합니다. 내일 봐요.", ["감사합니다.", "내일 봐요."]),
        ("ne", "म नेपाली हुँ। तपाईं कस्तो हुनुहुन्छ? ठीक छ", ["म नेपाली हुँ।", "तपाईं कस्तो हुनुहुन्छ?", "ठीक छ"]),
        ("my", "မင်္ဂလာပါ။ နေကောင်းလား။", ["မင်္ဂလာပါ။", "နေကောင်းလား။"]),
        ("th", "สวัสดีครับ ขอบคุณ ราคา 300 บาท", ["สวัสดีครับ", "ขอบคุณ", "ราคา 300 บาท"]),
        ("th", "ไปกรุงเทพฯ วันนี้", ["ไปกรุงเทพฯ", "วันนี้"]),
    ],
)
def test_sentences_split_by_script(language: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text, language) == expected


def test_thai_abbreviation_mark_alone_does_not_end_a_sentence() -> None:
    assert split_sentences("กรุงเทพฯมหานคร", "th") == ["กรุงเทพฯมหานคร"]


def test_lines_are_split_and_empty_pieces_dropped() -> None:
    assert split_sentences("一行目。\n\n  二行目  \n", "ja") == ["一行目。", "二行目"]
    assert split_sentences("   ", "en") == []


def test_overlong_sentences_are_cut_at_a_comma_or_space() -> None:
    long = ", ".join(["word"] * 300)
    pieces = split_sentences(long, "en")
    assert len(pieces) > 1 and all(len(piece) <= MAX_SENTENCE_CHARS for piece in pieces)
    assert "".join(pieces).replace(",", "").replace(" ", "") == long.replace(",", "").replace(" ", "")
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in split_sentences("あ" * 1000, "ja"))


def test_join_follows_the_target_language() -> None:
    assert join_sentences(["こんにちは。", "元気ですか。"], "ja") == "こんにちは。元気ですか。"
    assert join_sentences(["Hello.", "How are you?"], "en") == "Hello. How are you?"
    assert join_sentences(["สวัสดี", "", "ขอบคุณ"], "th") == "สวัสดี ขอบคุณ"
