"""Desk hours from the city profile, and reading a callback phone number as residents type it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.desk.hours import desk_hours, parse_schedule
from bot.desk.resident import extract_phone, new_ticket
from knowledge.profile import CityProfile

TOKYO = ZoneInfo("Asia/Tokyo")


def test_the_demo_desks_follow_the_profile() -> None:
    profile = CityProfile.load()
    city_hall = desk_hours(profile, "city_hall")
    library = desk_hours(profile, "library")
    assert city_hall is not None and library is not None
    assert city_hall.is_open(datetime(2026, 11, 24, 8, 30, tzinfo=TOKYO))  # Tuesday
    assert not city_hall.is_open(datetime(2026, 11, 24, 17, 15, tzinfo=TOKYO))
    assert not city_hall.is_open(datetime(2026, 11, 22, 11, 0, tzinfo=TOKYO))  # Sunday
    assert library.is_open(datetime(2026, 11, 22, 11, 0, tzinfo=TOKYO))
    assert not city_hall.is_open(datetime(2026, 12, 30, 10, 0, tzinfo=TOKYO))  # New Year holidays
    assert city_hall.next_opening(datetime(2026, 12, 28, 18, 0, tzinfo=TOKYO)) == datetime(
        2027, 1, 4, 8, 30, tzinfo=TOKYO)
    # The same moment in UTC is read in Tokyo time.
    assert city_hall.is_open(datetime(2026, 11, 24, 1, 0, tzinfo=ZoneInfo("UTC")))
    assert city_hall.hours_key == "offices.ward.hours"


def test_schedules_wrap_the_week_and_bad_ones_say_what_is_wrong() -> None:
    [weekend] = parse_schedule("sat-mon 10:00-12:00")
    assert weekend.days == {5, 6, 0}
    with pytest.raises(ValueError, match="funday"):
        parse_schedule("funday 10:00-12:00")
    with pytest.raises(ValueError, match="close after it opens"):
        parse_schedule("mon 12:00-10:00")


@pytest.mark.parametrize(("typed", "expected"), [
    ("090-1234-5678", "09012345678"),
    ("０９０－１２３４－５６７８", "09012345678"),
    ("my number is 03 1234 5678 thanks", "0312345678"),
    ("+81 90 1234 5678", "+819012345678"),
    ("(045) 123-4567", "0451234567"),
])
def test_phone_numbers_are_read_as_residents_write_them(typed: str, expected: str) -> None:
    assert extract_phone(typed) == expected


@pytest.mark.parametrize("typed", ["12345", "call me tomorrow", "1234-5678-9012-3456", "090-1234"])
def test_what_is_not_a_japanese_phone_number_is_refused(typed: str) -> None:
    assert extract_phone(typed) is None


def test_tickets_name_the_bot_and_are_easy_to_read_out() -> None:
    ticket = new_ticket("library")
    assert ticket.startswith("L-") and len(ticket) == 8 and ticket[2:].isdigit()
