"""When each bot's staff desk answers: parsed from the city profile's ``staff_desk`` section."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from knowledge.profile import CityProfile

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(r"^\s*(?P<days>[a-z]{3}(?:-[a-z]{3})?(?:,[a-z]{3}(?:-[a-z]{3})?)*)\s+"
                   r"(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})\s*$")


@dataclass(frozen=True)
class Opening:
    """Open from ``start`` to ``end`` on the weekdays in ``days`` (0 = Monday)."""

    days: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True)
class DeskHours:
    """A desk's weekly schedule, closed dates (MM-DD) and timezone."""

    openings: tuple[Opening, ...]
    closed_dates: frozenset[str]
    zone: ZoneInfo
    #: Profile key of the hours as residents read them (a language map).
    hours_key: str | None = None

    def is_open(self, moment: datetime) -> bool:
        """Whether staff answer at ``moment`` (an aware datetime)."""
        local = moment.astimezone(self.zone)
        if local.strftime("%m-%d") in self.closed_dates:
            return False
        now = local.time()
        return any(local.weekday() in o.days and o.start <= now < o.end for o in self.openings)

    def next_opening(self, moment: datetime) -> datetime | None:
        """The next time the desk opens after ``moment`` (None when it never opens)."""
        local = moment.astimezone(self.zone)
        for offset in range(0, 15):
            day = (local + timedelta(days=offset)).date()
            if day.strftime("%m-%d") in self.closed_dates:
                continue
            starts = sorted(o.start for o in self.openings if day.weekday() in o.days)
            for start in starts:
                candidate = datetime.combine(day, start, tzinfo=self.zone)
                if candidate > local:
                    return candidate
        return None


def parse_schedule(schedule: str) -> tuple[Opening, ...]:
    """``"mon-fri 08:30-17:15; sat 09:00-12:00"`` → openings; ValueError names the bad part."""
    openings = []
    for part in filter(None, (p.strip() for p in schedule.lower().split(";"))):
        match = _PART.match(part)
        if match is None:
            raise ValueError(f"cannot read the schedule part {part!r} (expected e.g. 'mon-fri 08:30-17:15')")
        days: set[int] = set()
        for span in match["days"].split(","):
            first, _, last = span.partition("-")
            if first not in DAYS or (last and last not in DAYS):
                raise ValueError(f"unknown day in {part!r}; use {', '.join(DAYS)}")
            a, b = DAYS.index(first), DAYS.index(last or first)
            days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        start, end = time.fromisoformat(match["start"].zfill(5)), time.fromisoformat(match["end"].zfill(5))
        if end <= start:
            raise ValueError(f"the desk must close after it opens in {part!r}")
        openings.append(Opening(frozenset(days), start, end))
    return tuple(openings)


def desk_hours(profile: CityProfile, bot: str) -> DeskHours | None:
    """The desk hours of ``bot`` from the profile; None when the profile has none (always open)."""
    key = f"staff_desk.{bot}.schedule"
    if not profile.has(key):
        return None
    zone = ZoneInfo(profile.value("staff_desk.timezone", "en") if profile.has("staff_desk.timezone") else "Asia/Tokyo")
    closed = profile.node("staff_desk").get("closed_dates") or []
    hours_key = f"staff_desk.{bot}.hours_from"
    return DeskHours(
        openings=parse_schedule(profile.value(key, "en")),
        closed_dates=frozenset(str(day) for day in closed),
        zone=zone,
        hours_key=profile.value(hours_key, "en") if profile.has(hours_key) else None,
    )
