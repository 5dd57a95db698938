"""Entity extraction."""

from __future__ import annotations

from datetime import date

import pytest

from nlu.entities import EntityExtractor, infer_synonym_types, isbn_is_valid
from nlu.numbers import kanji_to_int
from nlu.training_data import parse_annotated
from nlu.types import Entity, EntityResources

TODAY = date(2026, 11, 24)  # a Tuesday


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    resources = EntityResources(
        regexes={
            "library_card": (r"(?<!\d)2\d{9}(?!\d)",),
            "ticket_number": (r"(?<!\d)\d{1,4}(?=\s?(?:番(?!地)|ばん|号))",),
        },
        lookups={"district": ("中央地区", "東地区", "Chuo", "Higashi")},
        synonyms={"chuo": ("中央地区", "ちゅうおう", "Chuo district"), "higashi": ("東地区", "ひがし", "東"),
                  "north": ("北区", "きたく", "Kita-ku")},
    )
    examples = [parse_annotated("[北区](ward)役所は混んでる？"), parse_annotated("[東地区](district)のごみの日")]
    return EntityExtractor(resources, infer_synonym_types(resources.synonyms, examples))


def values(entities: tuple[Entity, ...], kind: str) -> list[str]:
    return [entity.value for entity in entities if entity.type == kind]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("明日は図書館休み？", "2026-11-25"),
        ("あさって行きたい", "2026-11-26"),
        ("来週の土曜は開いてる？", "2026-12-05"),
        ("今週の金曜日", "2026-11-27"),
        ("土曜日やってる？", "2026-11-28"),
        ("12/3は開館日ですか", "2026-12-03"),
        ("12月3日", "2026-12-03"),
        ("１２月３日", "2026-12-03"),
        ("十二月三日", "2026-12-03"),
        ("1月5日", "2027-01-05"),  # already passed this year -> next year
        ("2027年4月1日", "2027-04-01"),
        ("is it open next Friday?", "2026-12-04"),
        ("open on Friday?", "2026-11-27"),
        ("tomorrow please", "2026-11-25"),
        ("December 3rd", "2026-12-03"),
        ("明天图书馆开吗", "2026-11-25"),
        ("내일 도서관 열어요?", "2026-11-25"),
    ],
)
def test_dates_resolved_relative_to_today(extractor: EntityExtractor, text: str, expected: str) -> None:
    assert values(extractor.extract(text, TODAY), "date") == [expected]


def test_date_span_points_into_original_text(extractor: EntityExtractor) -> None:
    text = "図書館は１２月３日に開いてますか"
    (entity,) = [e for e in extractor.extract(text, TODAY) if e.type == "date"]
    assert text[entity.start : entity.end] == entity.text == "１２月３日"


def test_times(extractor: EntityExtractor) -> None:
    assert values(extractor.extract("午後3時半に行きます", TODAY), "time") == ["15:30"]
    assert values(extractor.extract("at 10:45 am", TODAY), "time") == ["10:45"]


def test_within_14_days_is_not_a_date(extractor: EntityExtractor) -> None:
    assert values(extractor.extract("14日以内に届け出が必要ですか", TODAY), "date") == []


def test_full_width_and_kanji_ticket_numbers(extractor: EntityExtractor) -> None:
    assert values(extractor.extract("１２３番です", TODAY), "ticket_number") == ["123"]
    assert values(extractor.extract("百二十三番の呼び出し", TODAY), "ticket_number") == ["123"]
    assert values(extractor.extract("番号は４５", TODAY), "number") == ["45"]


def test_kanji_numerals() -> None:
    assert kanji_to_int("百二十三") == 123
    assert kanji_to_int("二〇二六") == 2026
    assert kanji_to_int("三万五千") == 35000
    assert kanji_to_int("十") == 10


def test_isbn_checksum() -> None:
    assert isbn_is_valid("9784065199817")
    assert not isbn_is_valid("9784065199818")
    assert isbn_is_valid("4065199816")
    assert isbn_is_valid("080442957X")


def test_isbn_extraction_rejects_bad_checksum(extractor: EntityExtractor) -> None:
    assert values(extractor.extract("ISBN 978-4-06-519981-7 の本", TODAY), "isbn") == ["9784065199817"]
    assert values(extractor.extract("ISBN 978-4-06-519981-8 の本", TODAY), "isbn") == []


def test_library_card_number_from_regex(extractor: EntityExtractor) -> None:
    assert values(extractor.extract("カード番号は2123456789です", TODAY), "library_card") == ["2123456789"]


def test_districts_and_synonyms_map_to_canonical_ids(extractor: EntityExtractor) -> None:
    assert values(extractor.extract("中央地区のごみの日", TODAY), "district") == ["chuo"]
    assert values(extractor.extract("ひがしのごみの日", TODAY), "district") == ["higashi"]
    assert values(extractor.extract("garbage day in Chuo district?", TODAY), "district") == ["chuo"]
    assert values(extractor.extract("キタクの窓口", TODAY), "ward") == ["north"]


def test_one_kanji_district_not_found_inside_a_word(extractor: EntityExtractor) -> None:
    assert values(extractor.extract("東京に引っ越します", TODAY), "district") == []


def test_empty_text(extractor: EntityExtractor) -> None:
    assert extractor.extract("", TODAY) == ()
