"""Language identification as a user would notice it."""

from __future__ import annotations

import pytest

from nlu.langid import LanguageDetector
from nlu.types import ALL_LANGUAGES


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(ALL_LANGUAGES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ゴミの日はいつ？", "ja"),  # lid.176 alone says Cantonese
        ("住民票", "ja"),
        ("पुस्तकालय कति बजे खुल्छ?", "ne"),
        ("नमस्ते", "ne"),
        ("图书馆几点开门？我想借书", "zh-Hans"),
        ("圖書館幾點開門？我想借書", "zh-Hant"),
        ("住民票能在便利店打印吗？我有My Number卡。", "zh-Hans"),
        ("Anong oras bukas ang library?", "tl"),
        ("Nasaan po ang city hall?", "tl"),
        ("Saya mau tanya jadwal sampah", "id"),
        ("Thư viện mở cửa lúc mấy giờ?", "vi"),
        ("도서관 몇 시까지 해요?", "ko"),
        ("ห้องสมุดเปิดกี่โมง", "th"),
        ("ကျေးဇူးတင်ပါတယ်", "my"),
        ("Qual é o horário da biblioteca?", "pt"),
        ("¿A qué hora abre la biblioteca?", "es"),
        ("What time does the library open?", "en"),
    ],
)
def test_detects_language(detector: LanguageDetector, text: str, expected: str) -> None:
    assert detector.detect(text)[0] == expected


def test_short_message_keeps_preferred_language(detector: LanguageDetector) -> None:
    assert detector.detect("ok", preferred="vi")[0] == "vi"
    assert detector.detect("hello", preferred="ja")[0] == "ja"
    assert detector.detect("123", preferred="th")[0] == "th"


def test_short_message_in_another_script_is_not_forced_into_preferred(detector: LanguageDetector) -> None:
    assert detector.detect("こんにちは", preferred="en")[0] == "ja"


def test_easy_japanese_is_never_detected_but_kept_when_preferred(detector: LanguageDetector) -> None:
    assert detector.detect("としょかんは なんじまで ですか")[0] == "ja"
    assert detector.detect("としょかんは なんじまで ですか", preferred="ja-x-easy")[0] == "ja-x-easy"


def test_traditional_preference_kept_for_ambiguous_chinese(detector: LanguageDetector) -> None:
    # no character that differs between the two standards
    assert detector.detect("你好", preferred="zh-Hant")[0] == "zh-Hant"


def test_restricted_to_configured_languages() -> None:
    detector = LanguageDetector(("ja", "en"))
    assert detector.detect("Olá, qual é o horário da biblioteca hoje?")[0] in {"ja", "en"}


def test_empty_or_symbols_only(detector: LanguageDetector) -> None:
    assert detector.detect("", preferred="ko") == ("ko", 0.5)
    assert detector.detect("👍👍")[1] == 0.0
