"""Dates and times in messages, resolved relative to a given ``today``.

Works on the matching text of :mod:`nlu.numbers` (half-width, lower case,
kanji numerals as digits). Japanese and English are covered fully; relative
days and weekdays are understood in the other configured languages too.

Rules: a weekday alone ("土曜", "Friday", "this Friday") is its next
occurrence, today included; "来週の土曜" / "next Friday" is that weekday in
next week (weeks start on Monday); "今週の土曜" is this week's; a month/day
without a year that has already passed this year means next year.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

# Relative day words -> offset from today.
_RELATIVE_DAYS: dict[str, int] = {
    "今日": 0, "きょう": 0, "本日": 0, "明日": 1, "あした": 1, "あす": 1, "明後日": 2, "あさって": 2,
    "昨日": -1, "きのう": -1, "一昨日": -2, "おととい": -2, "しあさって": 3,
    "today": 0, "tonight": 0, "tomorrow": 1, "day after tomorrow": 2, "yesterday": -1,
    "今天": 0, "明天": 1, "后天": 2, "後天": 2, "昨天": -1,
    "오늘": 0, "내일": 1, "모레": 2, "어제": -1,
    "hôm nay": 0, "ngày mai": 1, "ngày kia": 2, "hôm qua": -1,
    "hoy": 0, "mañana": 1, "pasado mañana": 2, "ayer": -1,
    "hoje": 0, "amanhã": 1, "depois de amanhã": 2, "ontem": -1,
    "hari ini": 0, "besok": 1, "lusa": 2, "kemarin": -1,
    "วันนี้": 0, "พรุ่งนี้": 1, "มะรืนนี้": 2, "เมื่อวาน": -1,
    "आज": 0, "भोलि": 1, "पर्सि": 2, "हिजो": -1,
    "ngayon": 0,
}
_WEEKDAY_NAMES: tuple[tuple[str, ...], ...] = (
    ("月曜", "げつよう", "monday", "星期一", "周一", "週一", "礼拜一", "월요일", "thứ hai", "lunes",
     "segunda", "segunda-feira", "senin"),
    ("火曜", "かよう", "tuesday", "tue", "tues", "星期二", "周二", "週二", "礼拜二", "화요일", "thứ ba",
     "martes", "terça", "terça-feira", "selasa"),
    ("水曜", "すいよう", "wednesday", "星期三", "周三", "週三", "礼拜三", "수요일", "thứ tư", "miércoles",
     "quarta", "quarta-feira", "rabu"),
    ("木曜", "もくよう", "thursday", "thu", "thurs", "星期四", "周四", "週四", "礼拜四", "목요일", "thứ năm",
     "jueves", "quinta", "quinta-feira", "kamis"),
    ("金曜", "きんよう", "friday", "fri", "星期五", "周五", "週五", "礼拜五", "금요일", "thứ sáu", "viernes",
     "sexta", "sexta-feira", "jumat", "jum'at"),
    ("土曜", "どよう", "saturday", "星期六", "周六", "週六", "礼拜六", "토요일", "thứ bảy", "sábado", "sabtu",
     "sabado"),
    ("日曜", "にちよう", "sunday", "星期日", "星期天", "周日", "週日", "礼拜天", "일요일", "chủ nhật", "domingo"),
)
_WEEKDAYS: dict[str, int] = {name: index for index, names in enumerate(_WEEKDAY_NAMES) for name in names}

_MONTHS = {name: number for number, names in enumerate((
    "january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul",
    "august aug", "september sep sept", "october oct", "november nov", "december dec"), start=1)
    for name in names.split()}


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


_WEEKDAY_RE = _alternation(list(_WEEKDAYS))
_MONTH_RE = _alternation(list(_MONTHS))
_JA_WEEKDAY_SUFFIX = r"(?:日|び)?(?:日)?"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ymd", re.compile(r"(?<!\d)(?P<y>20\d\d)\s*(?:[-/.年])\s*(?P<m>\d{1,2})\s*(?:[-/.月])\s*(?P<d>\d{1,2})日?(?!\d)")),
    ("md_ja", re.compile(r"(?<!\d)(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日")),
    ("md_slash", re.compile(r"(?<![\d/])(?P<m>\d{1,2})/(?P<d>\d{1,2})(?![\d/])")),
    ("md_en", re.compile(rf"\b(?P<mon>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b")),
    ("dm_en", re.compile(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>{_MONTH_RE})\b")),
    ("week_ja", re.compile(
        rf"(?P<which>今週|来週|再来週|次|今度|この|こんど|らいしゅう|こんしゅう)の?\s*(?P<wd>{_WEEKDAY_RE}){_JA_WEEKDAY_SUFFIX}")),
    ("week_en", re.compile(rf"\b(?P<which>this|next|coming|this coming)\s+(?P<wd>{_WEEKDAY_RE})\b")),
    ("weekday", re.compile(rf"(?P<wd>{_WEEKDAY_RE}){_JA_WEEKDAY_SUFFIX}")),
    ("day_ja", re.compile(r"(?<![\d月/])(?P<d>\d{1,2})\s*日(?!本|曜|間|以|前|後|ほど|くらい|ぐらい|中)")),
    ("relative", re.compile(_alternation(list(_RELATIVE_DAYS)))),
]
_LATIN_WORD_PATTERNS = {"md_en", "dm_en", "week_en"}
_TIME = re.compile(
    r"(?P<ampm_ja>午前|午後)?\s*(?P<h>\d{1,2})\s*(?:(?P<half>時半)|(?::|時)\s*(?P<min>\d{2})?分?)"
    r"|(?P<h2>\d{1,2})(?::(?P<min2>\d{2}))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)(?![a-z])"
)


@dataclass(frozen=True)
class DateMatch:
    """A date or time found in the matching text (offsets in that text)."""

    kind: str  # "date" or "time"
    value: str  # ISO date (YYYY-MM-DD) or HH:MM
    start: int
    end: int


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _future_month_day(today: date, month: int, day: int) -> date | None:
    candidate = _safe_date(today.year, month, day)
    if candidate is not None and candidate < today:
        candidate = _safe_date(today.year + 1, month, day)
    return candidate


def _weekday_date(today: date, weekday: int, which: str | None) -> date:
    monday = today - timedelta(days=today.weekday())
    if which in {"来週", "らいしゅう", "next"}:
        return monday + timedelta(days=7 + weekday)
    if which == "再来週":
        return monday + timedelta(days=14 + weekday)
    if which in {"今週", "こんしゅう"}:
        return monday + timedelta(days=weekday)
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def _is_word_boundary(text: str, start: int, end: int) -> bool:
    before = text[start - 1 : start]
    after = text[end : end + 1]
    return not (before.isascii() and before.isalnum()) and not (after.isascii() and after.isalnum())


def _resolve(kind: str, match: re.Match[str], today: date) -> date | None:
    groups = match.groupdict()
    if kind == "ymd":
        return _safe_date(int(groups["y"]), int(groups["m"]), int(groups["d"]))
    if kind in {"md_ja", "md_slash"}:
        return _future_month_day(today, int(groups["m"]), int(groups["d"]))
    if kind in {"md_en", "dm_en"}:
        return _future_month_day(today, _MONTHS[groups["mon"]], int(groups["d"]))
    if kind in {"week_ja", "week_en", "weekday"}:
        return _weekday_date(today, _WEEKDAYS[groups["wd"]], groups.get("which"))
    if kind == "day_ja":
        day = int(groups["d"])
        candidate = _safe_date(today.year, today.month, day)
        if candidate is None or candidate < today:
            next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
            candidate = _safe_date(next_month.year, next_month.month, day)
        return candidate
    if kind == "relative":
        return today + timedelta(days=_RELATIVE_DAYS[match.group(0)])
    return None


def find_dates(text: str, today: date) -> Iterator[DateMatch]:
    """Yield non-overlapping dates (most specific pattern first), then times."""
    taken: list[tuple[int, int]] = []
    found: list[DateMatch] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            if not _is_word_boundary(text, start, end) and (kind in _LATIN_WORD_PATTERNS or text[start].isascii()):
                continue
            if kind == "relative" and match.group(0) in {"mañana"} and text[max(0, start - 3) : start] == "la ":
                continue
            resolved = _resolve(kind, match, today)
            if resolved is not None:
                taken.append((start, end))
                found.append(DateMatch("date", resolved.isoformat(), start, end))
    for match in _TIME.finditer(text):
        start, end = match.span()
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        value = _resolve_time(match)
        if value is not None:
            taken.append((start, end))
            found.append(DateMatch("time", value, start, end))
    yield from sorted(found, key=lambda item: item.start)


def _resolve_time(match: re.Match[str]) -> str | None:
    groups = match.groupdict()
    if groups["h"] is not None:
        hour, minute = int(groups["h"]), int(groups["min"] or 0)
        if groups["half"]:
            minute = 30
        if groups["ampm_ja"] == "午後" and hour < 12:
            hour += 12
    else:
        hour, minute = int(groups["h2"]), int(groups["min2"] or 0)
        if groups["ampm"].startswith("p") and hour < 12:
            hour += 12
        elif groups["ampm"].startswith("a") and hour == 12:
            hour = 0
    if hour > 24 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"
