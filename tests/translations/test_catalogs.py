"""Every UI string exists in Japanese and English, and translations keep the same parameters."""

from __future__ import annotations

from translations.catalog import Catalog, parameters
from translations.languages import ENDONYMS, fallback_chain


def test_every_key_has_japanese_and_english() -> None:
    catalog = Catalog.load()
    assert catalog.keys("ja") == catalog.keys("en")


def test_translations_use_the_same_parameters_and_only_known_keys() -> None:
    catalog = Catalog.load()
    english = catalog.keys("en")
    for language in catalog.languages:
        extra = catalog.keys(language) - english
        assert not extra, f"{language} has keys English does not: {sorted(extra)}"
        for key in catalog.keys(language):
            translated = catalog.raw(key, language) or ""
            assert parameters(translated) == parameters(catalog.raw(key, "en") or ""), (language, key)


def test_catalog_languages_are_known() -> None:
    assert set(Catalog.load().languages) <= set(ENDONYMS)


def test_missing_text_falls_back_to_english_and_easy_japanese_to_japanese() -> None:
    catalog = Catalog({"en": {"k": "hello {name}"}, "ja": {"k": "こんにちは {name}"}})
    assert catalog.render("k", "my", name="A").text == "hello A"
    assert catalog.render("k", "ja-x-easy", name="A").language == "ja"
    assert fallback_chain("vi") == ("vi", "en", "ja")
