"""Fakes of :class:`bot.protocols.Broadcasts` (records what the admin API sends, stores nothing) and of
:class:`bot.protocols.BulkSender` (records the batches a channel would multicast)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bot.channels import TryLater
from bot.protocols import Broadcasts, BulkSender
from bot.types import BulkBatch, BulkRefused, ClientError


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

    def recent(self, limit: int = 20, bot: str | None = None) -> list[dict[str, Any]]:
        """The recorded broadcasts, newest first, each done."""
        found = [(number, item) for number, item in enumerate(self.sent, start=1) if bot in (None, item["bot"])]
        return [{"id": number, "bot": item["bot"], "kind": item["kind"], "status": "done",
                 "created_by": item["created_by"], "recipients": self.recipients, "sent": self.recipients,
                 "failed": 0, "skipped": 0, "pending": 0} for number, item in reversed(found)][:limit]

    def render(self, bot: str, message: dict[str, Any], language: str) -> dict[str, Any]:
        """The text written for ``language``, else the first one (as a fallback); ClientError 422 as :meth:`send`."""
        self.send(bot, {}, message, kind="notice", created_by="", dry_run=True)
        texts = {code: text for code, text in message.items() if isinstance(text, str) and code != "key"}
        own = language in texts
        used = language if own else next(iter(texts), language)
        return {"language": language, "text": texts.get(used, str(message.get("key", ""))), "own_text": own,
                "machine_translated": False, "original": None, "original_language": None,
                "fallback_language": None if own else used}


@dataclass
class RecordingBulkSender(BulkSender):
    """A :class:`bot.protocols.BulkSender` for channel ``name`` that records every batch it sends.

    Like LINE, it sends a batch whose ``key`` it accepted before to nobody (:attr:`received` counts what
    each recipient got). ``errors`` makes the next calls fail: ``"later"`` raises ``TryLater``,
    ``"refuse"`` raises ``BulkRefused``, ``"lost"`` sends the batch but raises ``TryLater`` (the answer was lost).
    """

    name: str = "test"
    max_recipients: int = 3
    errors: list[str] = field(default_factory=list)
    batches: list[BulkBatch] = field(default_factory=list)
    received: Counter[str] = field(default_factory=Counter)
    _accepted: set[str] = field(default_factory=set)

    async def send_many(self, batch: BulkBatch) -> None:
        """Record ``batch``; deliver it once per key; fail as ``errors`` says."""
        self.batches.append(batch)
        error = self.errors.pop(0) if self.errors else None
        if error == "later":
            raise TryLater("test channel down")
        if error == "refuse":
            raise BulkRefused("test channel refused")
        if batch.key not in self._accepted:
            self._accepted.add(batch.key)
            self.received.update(batch.recipients)
        if error == "lost":
            raise TryLater("answer lost")
