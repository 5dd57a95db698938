"""A fake of :class:`bot.protocols.LiveUpdates`: in-process wake-ups that also record every publish."""

from __future__ import annotations

from collections.abc import Collection

from bot.live import DESK_TOPIC, LocalLive, resident_topic


class RecordingLive(LocalLive):
    """Wakes this process's watchers like :class:`bot.live.LocalLive` and keeps each published topic in ``published``.

    ``resident_published(bot, channel, sender)`` and ``desk_published()`` count what a test expects;
    ``poll_seconds`` defaults to an hour, so a watcher that gets a message was woken, not polled.
    """

    def __init__(self, poll_seconds: float = 3600.0) -> None:
        super().__init__(poll_seconds)
        self.published: list[str] = []

    def publish(self, topics: Collection[str]) -> None:
        """Record ``topics`` (sorted per publish), then wake their watchers."""
        self.published.extend(sorted(topics))
        super().publish(topics)

    def resident_published(self, bot: str, channel: str, sender: str) -> int:
        """How many publishes named the resident's topic."""
        return self.published.count(resident_topic(bot, channel, sender))

    def desk_published(self) -> int:
        """How many publishes named the desk."""
        return self.published.count(DESK_TOPIC)
