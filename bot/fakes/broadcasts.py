"""A fake of :class:`bot.protocols.Broadcasts`: records what the admin API sends, stores nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.protocols import Broadcasts
from bot.types import ClientError


@dataclass
class MemoryBroadcasts(Broadcasts):
    """Keeps every broadcast in a list; ``recipients`` is what each one reaches; unknown bots are refused."""

    bots: tuple[str, ...] = ("city_hall", "residents", "library")
    recipients: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, bot: str, audience: dict[str, Any], message: dict[str, Any], *, kind: str, created_by: str,
             dry_run: bool = False) -> dict[str, Any]:
        """Record the broadcast (not for ``dry_run``); ClientError 422 for a bot not in ``bots`` or no message."""
        if bot not in self.bots:
            raise ClientError(422, "unknown_bot", f"unknown bot {bot!r}")
        if not message:
            raise ClientError(422, "empty_message", "message: give a catalog key or texts per language")
        if dry_run:
            return {"id": None, "recipients": self.recipients, "missing_languages": []}
        self.sent.append({"bot": bot, "audience": audience, "message": message, "kind": kind,
                          "created_by": created_by})
        return {"id": len(self.sent), "recipients": self.recipients, "missing_languages": []}

    def status(self, notification_id: int) -> dict[str, Any] | None:
        """Every recorded broadcast counts as done (all sent)."""
        if not 1 <= notification_id <= len(self.sent):
            return None
        return {"id": notification_id, "status": "done", "sent": self.recipients, "failed": 0, "skipped": 0,
                "pending": 0}
