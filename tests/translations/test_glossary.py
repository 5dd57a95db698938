"""The city glossary: valid file, terms masked before MT and restored after, robust to mangled placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from translations.glossary import Glossary, Masked, Term
from translations.languages import ENDONYMS


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return Glossary.load()


def test_shipped_glossary_is_valid_and_covers_the_core_terms(glossary: Glossary) -> None:
    japanese = {term.ja for term in glossary.terms}
    assert len(glossary.terms) >= 20
    core = {"住民票", "マイナンバーカード", "在留カード", "国民健康保険", "区役所", "転入届", "印鑑登録", "ごみ"}
    assert core <= japanese
    assert len(japanese) == len(glossary.terms), "a term is listed twice"
    for term in glossary.terms:
        assert "en" in term.renderings
        assert set(term.renderings) <= set(ENDONYMS) - {"ja"}


def test_terms_render_per_language_and_fall_back_to_english(glossary: Glossary) -> None:
    resident = next(term for term in glossary.terms if term.ja == "住民票")
    assert resident.rendering("en") == "Certificate of Residence (juminhyo)"
    assert resident.rendering("vi") == "Phiếu cư trú (juminhyo)"
    assert resident.rendering("my") == resident.rendering("en")  # no Burmese entry
    assert resident.rendering("ja") == "住民票"
    assert resident.rendering("ja-x-easy") == "住民票（じゅうみんひょう）"


def test_mask_and_restore_round_trip_with_longest_terms_first(glossary: Glossary) -> None:
    masked = glossary.mask("住民票とマイナンバーカードを区役所へ。粗大ごみとごみ。住民票", "ja", "en")
    assert masked.text == "XG1XとXG2XをXG3Xへ。XG4XとXG5X。XG1X"
    assert masked.renderings[:2] == ("Certificate of Residence (juminhyo)", "My Number card")
    translated = "Bring XG1X and XG2X to the XG3X. XG4X and XG5X. XG1X"
    assert glossary.restore(translated, masked) == (
        "Bring Certificate of Residence (juminhyo) and My Number card to the ward office. "
        "Oversized garbage (sodai gomi) and garbage. Certificate of Residence (juminhyo)"
    )


@pytest.mark.parametrize("mangled", ["xg1x", "XG 1 X", "Xg1 x", "ＸＧ１Ｘ"])
def test_restore_accepts_placeholders_a_model_mangled(glossary: Glossary, mangled: str) -> None:
    masked = glossary.mask("在留カードを見せてください。", "ja", "en")
    assert glossary.restore(f"Please show your {mangled}.", masked) == "Please show your residence card (zairyu card)."


def test_restore_reports_a_lost_placeholder_and_drops_invented_ones(glossary: Glossary) -> None:
    masked = glossary.mask("住民票と在留カード", "ja", "en")
    assert glossary.restore("XG1X and the card", masked) is None
    assert glossary.restore("XG1X and XG2X XG7X here", masked) == (
        "Certificate of Residence (juminhyo) and residence card (zairyu card) here"
    )


def test_no_spaces_around_terms_in_languages_without_word_spaces(glossary: Glossary) -> None:
    masked = glossary.mask("住民票とマイナンバーカード", "ja", "zh-Hans")
    assert glossary.restore("请带 XG1X 和 XG2X 来。", masked) == "请带住民票（居民证明）和个人编号卡（My Number卡）来。"


def test_terms_written_in_english_are_protected_too(glossary: Glossary) -> None:
    masked = glossary.mask("Bring your Residence Card and My Number card to the ward office.", "en", "ja-x-easy")
    assert masked.text == "Bring your XG1X and XG2X to the XG3X."
    restored = glossary.restore("XG1XとXG2XをXG3Xへ", masked)
    assert restored == "在留（ざいりゅう）カードとマイナンバーカードを区役所（くやくしょ）へ"
    assert glossary.mask("Many cards, a wardrobe office", "en", "ja").renderings == ()


def test_hangul_terms_match_before_particles(glossary: Glossary) -> None:
    assert glossary.mask("쓰레기를 버리세요", "ko", "vi") == Masked("XG1X를 버리세요", ("rác",), "vi")


def test_text_that_already_looks_like_a_placeholder_is_not_masked(glossary: Glossary) -> None:
    masked = glossary.mask("Code XG1X: 住民票", "ja", "en")
    assert masked.renderings == () and masked.text == "Code XG1X: 住民票"
    assert glossary.restore("Code XG1X: juminhyo", masked) == "Code XG1X: juminhyo"


def test_fingerprint_changes_with_content() -> None:
    one = Glossary([Term("住民票", {"en": "Certificate of Residence"})])
    two = Glossary([Term("住民票", {"en": "Resident record"})])
    assert one.fingerprint != two.fingerprint and len(one.fingerprint) == 16
    assert Glossary().mask("住民票", "ja", "en").renderings == ()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("terms: {}", "expected a `terms:` list"),
        ("terms:\n  - en: x", "term 1: `ja`"),
        ("terms:\n  - ja: 住民票", "term 1 (住民票): `en` is required"),
        (
            "terms:\n  - {ja: 住民票, en: x}\n  - {ja: ごみ, en: garbage, fr: ordures}",
            "term 2 (ごみ): unknown language 'fr'",
        ),
        ("terms:\n  - {ja: 住民票, en: XG1X}", "looks like a placeholder"),
        ("terms:\n  - {ja: 住民票, en: x, match: [a]}", "`match` must map"),
        ("terms: [", "cannot read the glossary"),
    ],
)
def test_malformed_glossary_names_the_entry(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "glossary.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)):
        Glossary.load(path)
