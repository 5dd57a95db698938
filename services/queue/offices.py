"""The ward offices with live queues, read from the city profile's ``queues`` section.

::

    queues:
      timezone: Asia/Tokyo
      closed_dates: ["12-29", ...]            # MM-DD, every office
      services:                                # the windows, names in every language
        resident_records: {name: {ja: 住民記録, en: Resident records, ...}}
      offices:
        north:
          name_from: offices.ward.north.name   # profile key of the office's name
          hours_from: offices.ward.hours       # profile key of the hours residents read
          schedule: "mon-fri 08:30-17:15"      # as staff_desk schedules
          services: [resident_records, tax]
          kiosks: [north-ward-1f]              # kiosk locations standing in this office
          aliases: [北区, Kita-ku, North Ward] # how residents name it (besides its names)

Another city edits only that section; the service never hard-codes an office.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.desk.hours import DeskHours, parse_schedule
from knowledge.profile import CityProfile, UnknownProfileKey

#: The profile section this module reads.
SECTION = "queues"
DEFAULT_ZONE = "Asia/Tokyo"
#: Aliases shorter than this are ignored when matching a message (a lone 北 is not an office).
MIN_ALIAS_CHARS = 2


@dataclass(frozen=True)
class QueueOffice:
    """One office: its windows, hours and the names residents use for it."""

    id: str
    services: tuple[str, ...]
    hours: DeskHours
    name_key: str
    hours_key: str
    kiosks: frozenset[str]
    aliases: tuple[str, ...]


def _fold(text: str) -> str:
    """Full-width to half-width, lower case, no blanks or hyphens: how names are compared."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "-‐・")


class OfficeDirectory:
    """The offices and windows of the profile, and what residents call them."""

    def __init__(self, profile: CityProfile) -> None:
        self._profile = profile
        self._offices: dict[str, QueueOffice] = {}
        self._matchers: list[tuple[str, str]] = []
        try:
            section = profile.node(SECTION)
        except UnknownProfileKey:  # a city without live queues
            return
        zone = ZoneInfo(str(section.get("timezone") or DEFAULT_ZONE))
        closed = frozenset(str(day) for day in section.get("closed_dates") or ())
        known_services = set((section.get("services") or {}).keys())
        for office_id, spec in (section.get("offices") or {}).items():
            services = tuple(str(name) for name in spec.get("services") or ())
            unknown = [name for name in services if name not in known_services]
            if unknown:
                raise ValueError(f"{SECTION}.offices.{office_id}: unknown service {unknown[0]!r}")
            hours = DeskHours(parse_schedule(str(spec["schedule"])), closed, zone)
            self._offices[str(office_id)] = QueueOffice(
                id=str(office_id), services=services, hours=hours, name_key=str(spec["name_from"]),
                hours_key=str(spec["hours_from"]), kiosks=frozenset(str(k) for k in spec.get("kiosks") or ()),
                aliases=tuple(str(a) for a in spec.get("aliases") or ()),
            )
        self._matchers = self._build_matchers()

    # --- lookups --------------------------------------------------------------------------

    def ids(self) -> tuple[str, ...]:
        """Every office id, in the profile's order."""
        return tuple(self._offices)

    def get(self, office_id: str) -> QueueOffice | None:
        """The office ``office_id``, or None."""
        return self._offices.get(office_id)

    def zone(self) -> ZoneInfo:
        """The offices' time zone."""
        first = next(iter(self._offices.values()), None)
        return first.hours.zone if first is not None else ZoneInfo(DEFAULT_ZONE)

    def name(self, office_id: str, language: str) -> str:
        """The office's name in ``language``."""
        return self._profile.value(self._offices[office_id].name_key, language)

    def service_name(self, service: str, language: str) -> str:
        """A window's name in ``language`` (the id when the profile has no name)."""
        key = f"{SECTION}.services.{service}.name"
        return self._profile.value(key, language) if self._profile.has(key) else service

    def hours_text(self, office_id: str, language: str) -> str:
        """The office's hours as residents read them, in ``language``."""
        return self._profile.value(self._offices[office_id].hours_key, language)

    # --- hours ----------------------------------------------------------------------------

    def is_open(self, office_id: str, moment: datetime) -> bool:
        """Whether the office's windows are open at ``moment``."""
        return self._offices[office_id].hours.is_open(moment)

    def closing_time(self, office_id: str, moment: datetime) -> datetime | None:
        """When the opening ``moment`` falls in ends (subscriptions expire then); None when closed."""
        office = self._offices[office_id]
        local = moment.astimezone(office.hours.zone)
        if not office.hours.is_open(moment):
            return None
        ends = [o.end for o in office.hours.openings if local.weekday() in o.days and o.start <= local.time() < o.end]
        return datetime.combine(local.date(), max(ends), tzinfo=office.hours.zone)

    # --- what a resident said -------------------------------------------------------------

    def for_kiosk(self, location: str | None) -> str | None:
        """The office a kiosk at ``location`` stands in (its id or one of its ``kiosks``), or None."""
        if not location:
            return None
        if location in self._offices:
            return location
        return next((office.id for office in self._offices.values() if location in office.kiosks), None)

    def find(self, text: str) -> str | None:
        """The office named in ``text`` (its names in every language or its aliases; longest match wins)."""
        folded = _fold(text)
        best: tuple[int, str] | None = None
        for alias, office_id in self._matchers:
            if alias in folded and (best is None or len(alias) > best[0]):
                best = (len(alias), office_id)
        return best[1] if best else None

    def _build_matchers(self) -> list[tuple[str, str]]:
        matchers: list[tuple[str, str]] = []
        for office in self._offices.values():
            names = self._profile.node(office.name_key)
            texts = list(names.values()) if isinstance(names, dict) else [names]
            for text in (*texts, *office.aliases, office.id):
                folded = _fold(str(text))
                if len(folded) >= MIN_ALIAS_CHARS:
                    matchers.append((folded, office.id))
        return matchers
