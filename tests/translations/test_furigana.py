"""Furigana go over the kanji, with correct readings, and never over kana."""

from __future__ import annotations

from translations.furigana import segments, to_parenthesized, to_ruby_html


def test_readings_go_over_kanji_only() -> None:
    assert to_parenthesized("住民票の写しは市役所で取れます") == (
        "住民票(じゅうみんひょう)の写(うつ)しは市役所(しやくしょ)で取(と)れます"
    )


def test_ruby_html_is_escaped_and_keeps_line_breaks() -> None:
    html = to_ruby_html("<b>東京</b>\n電話")
    assert "&lt;b&gt;" in html and "<br>" in html
    assert "<ruby>東京<rt>とうきょう</rt></ruby>" in html


def test_text_without_kanji_needs_no_ruby() -> None:
    assert all(s.reading is None for s in segments("ひらがなとカタカナ、123"))


def test_kana_form_replaces_kanji_with_readings() -> None:
    from translations.furigana import to_kana

    assert to_kana("住民票はどこでもらえますか") == "じゅうみんひょうはどこでもらえますか"
