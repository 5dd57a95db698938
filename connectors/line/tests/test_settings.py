"""Settings from the environment and LINE's language tags mapped to ours."""

from __future__ import annotations

import pytest

from connectors.line import LineChannel, LineSettings
from connectors.line.languages import map_line_language

LANGUAGES = ("ja", "ja-x-easy", "en", "zh-Hans", "zh-Hant", "ko", "vi", "tl", "ne", "pt", "es", "id", "th", "my")


def test_only_bots_with_both_credentials_are_served() -> None:
    settings = LineSettings.from_env({
        "LINE_CITY_HALL_CHANNEL_SECRET": "s1", "LINE_CITY_HALL_ACCESS_TOKEN": "t1",
        "LINE_LIBRARY_CHANNEL_SECRET": "s3",
        "LINE_API_BASE": "http://127.0.0.1:9/",
    }, ["city_hall", "residents", "library"])
    assert settings.channels == {"city_hall": LineChannel("s1", "t1")}
    assert settings.channel("library") is None
    assert settings.api_base == "http://127.0.0.1:9"
    assert settings.data_api_base == "https://api-data.line.me"
    assert (settings.reply_deadline_seconds, settings.loading_after_seconds) == (20.0, 2.0)
    assert "s1" not in repr(settings) and "t1" not in repr(settings)


@pytest.mark.parametrize(("tag", "expected"), [
    ("ja", "ja"), ("en", "en"), ("zh-Hans", "zh-Hans"), ("zh-Hant", "zh-Hant"), ("zh-TW", "zh-Hant"),
    ("zh-HK", "zh-Hant"), ("zh-CN", "zh-Hans"), ("zh", "zh-Hans"), ("ko", "ko"), ("vi", "vi"), ("th", "th"),
    ("id", "id"), ("in", "id"), ("pt-BR", "pt"), ("es-419", "es"), ("fil", "tl"), ("ne-NP", "ne"),
    ("fr", "ja"), ("", "ja"), (None, "ja"), ("ja-x-easy", "ja"),
])
def test_line_language_tags_map_to_our_languages(tag: str | None, expected: str) -> None:
    assert map_line_language(tag, LANGUAGES, "ja") == expected
