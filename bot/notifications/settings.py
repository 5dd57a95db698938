"""The notification service's settings: quiet hours in the city's time zone, fallback and retries.

Read from ``notifications:`` in ``config.yml`` (:class:`bot.config.NotificationsConfig`); the time zone
is the city profile's ``staff_desk.timezone`` (Asia/Tokyo when the profile has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import AppConfig
from knowledge.profile import CityProfile

DEFAULT_TIME_ZONE = "Asia/Tokyo"
#: The longest a failing delivery waits between two attempts.
MAX_BACKOFF_SECONDS = 3600.0


@dataclass(frozen=True)
class QuietHours:
    """From ``start`` to ``end`` local time in ``zone`` (spanning midnight when ``end`` <= ``start``)."""

    start: time
    end: time
    zone: ZoneInfo

    def until(self, moment: datetime) -> datetime | None:
        """When the quiet period ``moment`` falls in ends (UTC); None outside quiet hours."""
        if self.start == self.end:
            return None
        local = moment.astimezone(self.zone)
        now = local.time()
        if self.start < self.end:
            inside, day = self.start <= now < self.end, local.date()
        else:
            inside = now >= self.start or now < self.end
            day = local.date() + timedelta(days=1) if now >= self.start else local.date()
        if not inside:
            return None
        return datetime.combine(day, self.end, tzinfo=self.zone).astimezone(UTC)


@dataclass(frozen=True)
class NotificationSettings:
    """What the service checks and how it delivers."""

    bots: tuple[str, ...]
    languages: tuple[str, ...]
    default_language: str
    fallback_language: str = "en"
    machine_translation: bool = True
    quiet_hours: QuietHours | None = None
    #: The city's districts (the profile's ``districts``): what an audience's ``districts`` may name.
    districts: tuple[str, ...] = ()
    max_attempts: int = 8
    retry_seconds: float = 5.0

    @classmethod
    def from_config(cls, config: AppConfig, profile: CityProfile | None = None) -> NotificationSettings:
        """The settings of ``config`` (``notifications:``), quiet hours in the profile's time zone."""
        section = config.notifications
        quiet = None
        if section.quiet_hours is not None:
            zone = ZoneInfo(profile.value("staff_desk.timezone", "en")
                            if profile is not None and profile.has("staff_desk.timezone") else DEFAULT_TIME_ZONE)
            quiet = QuietHours(time.fromisoformat(section.quiet_hours.start),
                               time.fromisoformat(section.quiet_hours.end), zone)
        return cls(bots=tuple(config.bots), languages=config.languages, default_language=config.default_language,
                   fallback_language=section.fallback_language, machine_translation=section.machine_translation,
                   quiet_hours=quiet, districts=tuple(profile.children("districts")) if profile is not None else (),
                   max_attempts=section.max_attempts, retry_seconds=section.retry_seconds)

    def backoff(self, attempts: int) -> timedelta:
        """How long to wait after the ``attempts``-th failure: doubling from ``retry_seconds``."""
        return timedelta(seconds=min(MAX_BACKOFF_SECONDS, self.retry_seconds * 2 ** max(0, attempts - 1)))
