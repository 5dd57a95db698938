"""The language registry as users notice it: names on buttons, LINE's languages, fallbacks, the same list everywhere."""

from __future__ import annotations

import re
from typing import cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.config import SUPPORTED_LANGUAGES, load_config
from bot.protocols import MessageHandler
from bot.types import ChannelPolicy
from connectors.kiosk.connector import KioskConnector
from connectors.line.languages import map_line_language
from connectors.web.widget import WebWidgetConnector
from languages import (
    ALL_CODES,
    LANGUAGES,
    base_language,
    endonym,
    fallback_chain,
    from_argos_code,
    line_language,
    script_of,
    spec,
)
from nlu.types import ALL_LANGUAGES
from translations.argos_packages import argos_codes
from translations.catalog import Catalog
from translations.languages import ENDONYMS

CANONICAL = ("ja", "ja-x-easy", "en", "zh-Hans", "zh-Hant", "ko", "vi", "tl", "ne", "pt", "es", "id", "th", "my")
NO_HANDLER = cast(MessageHandler, object())  # the routes used here never reach the engine


@pytest.fixture(scope="module")
def policy() -> ChannelPolicy:
    config = load_config(environ={})
    return ChannelPolicy(bots=tuple(config.bots), languages=config.languages,
                         default_language=config.default_language, max_message_chars=500)


def test_every_configured_language_has_a_spec_with_its_own_name(policy: ChannelPolicy) -> None:
    for code in policy.languages:
        assert spec(code).code == code
        assert spec(code).endonym.strip(), code
    assert ALL_CODES == CANONICAL == tuple(LANGUAGES)
    assert SUPPORTED_LANGUAGES == ALL_LANGUAGES == ALL_CODES


def test_an_unknown_language_is_refused_with_a_clear_message() -> None:
    with pytest.raises(KeyError, match=r"unknown language 'klingon'; Yorisoi knows ja, ja-x-easy, en"):
        spec("klingon")
    assert endonym("klingon") == "klingon"  # shown as is rather than breaking a page


@pytest.mark.parametrize(("tag", "expected"), [
    ("zh-TW", "zh-Hant"), ("zh-HK", "zh-Hant"), ("zh_Hant", "zh-Hant"), ("zh-Hans-HK", "zh-Hant"),
    ("zh-CN", "zh-Hans"), ("zh", "zh-Hans"), ("pt-BR", "pt"), ("in", "id"), ("fil-PH", "tl"),
    ("fr", "ja"), ("", "ja"), (None, "ja"), ("ja-x-easy", "ja"),
])
def test_line_language_tags_map_to_our_languages(tag: str | None, expected: str) -> None:
    assert line_language(tag, ALL_CODES, "ja") == expected
    assert map_line_language(tag, ALL_CODES, "ja") == expected


def test_a_line_language_that_is_not_configured_gets_the_default() -> None:
    assert line_language("zh-TW", ("ja", "en", "zh-Hans"), "en") == "en"
    assert line_language("ko-KR", ("ja", "en"), "ja") == "ja"


def test_easy_japanese_falls_back_to_japanese_then_english() -> None:
    assert fallback_chain("ja-x-easy") == ("ja-x-easy", "ja", "en")
    assert spec("ja-x-easy").fallbacks == ("ja", "en") and spec("ja-x-easy").base == "ja"
    assert base_language("ja-x-easy") == "ja" and base_language("vi") == "vi"
    assert fallback_chain("ja") == ("ja", "en") and fallback_chain("vi") == ("vi", "en", "ja")
    catalog = Catalog.load()
    # A text written for Japanese only is what easy-Japanese readers get.
    only_japanese = next((key for key in catalog.keys("ja") if catalog.raw(key, "ja-x-easy") is None), None)
    if only_japanese is not None:
        assert catalog.text(only_japanese, "ja-x-easy") == catalog.text(only_japanese, "ja")


def test_machine_translation_codes_round_trip() -> None:
    for code, language in LANGUAGES.items():
        assert argos_codes(code) == language.argos_codes
        assert from_argos_code(language.argos_codes[0]) == language.base
    assert from_argos_code("zt") == "zh-Hant" and from_argos_code("pb") == "pt" and from_argos_code("xx") == "xx"


def test_scripts_and_word_spacing() -> None:
    assert [script_of(ch) for ch in "あ漢한ไမनaé1 "] == [
        "kana", "han", "hangul", "thai", "myanmar", "devanagari", "latin", "latin", None, None]
    no_word_spaces = {code for code, language in LANGUAGES.items() if not language.spaces_between_words}
    assert no_word_spaces == {"ja", "ja-x-easy", "zh-Hans", "zh-Hant", "th", "my"}
    decisive = [language.script_cues.decisive for language in LANGUAGES.values() if not language.easy_japanese]
    assert len([script for script in decisive if script]) == len({script for script in decisive if script})


def test_the_widget_offers_the_registrys_names(policy: ChannelPolicy) -> None:
    app = FastAPI()
    app.include_router(WebWidgetConnector(kiosk_path=None).router(NO_HANDLER, policy))
    with TestClient(app) as client:
        body = client.get("/api/v1/ui/en").json()
    assert body["languages"] == [{"code": code, "name": LANGUAGES[code].endonym} for code in policy.languages]
    assert dict(ENDONYMS) == {code: language.endonym for code, language in LANGUAGES.items()}


def test_the_kiosk_buttons_show_the_registrys_names(policy: ChannelPolicy) -> None:
    app = FastAPI()
    app.include_router(KioskConnector().router(NO_HANDLER, policy))
    with TestClient(app) as client:
        page = client.get(f"/kiosk/{policy.bots[0]}?lang=en").text
    buttons = re.findall(r'class="lang topic" data-lang="([^"]+)"[^>]*>([^<]+)</button>', page)
    assert buttons and {code: name for code, name in buttons} == {code: endonym(code) for code in policy.languages}
