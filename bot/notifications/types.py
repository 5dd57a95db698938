"""What a notification is: its audience, its content, and what sending it returns.

Plain frozen dataclasses; :class:`bot.notifications.service.NotificationService` takes and returns them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.enums import DeliveryStatus, NotificationKind, NotificationStatus
from bot.types import ClientError

__all__ = [
    "Audience",
    "DeadLetter",
    "InvalidNotification",
    "NotificationContent",
    "NotificationKind",
    "NotificationReceipt",
    "NotificationReport",
]

#: Parameter values a catalog text may be filled with.
ParamValue = str | int | float


class InvalidNotification(ClientError):
    """A notification that cannot be sent as asked (422): the message names what is wrong."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(422, code, message)


@dataclass(frozen=True)
class Audience:
    """Who receives a notification: active followers of ``bot``, narrowed by every filter that is set.

    An empty tuple means "no filter". Residents who unfollowed are never included.
    """

    bot: str
    #: Channel names (``line``, ``web``, ``kiosk`` ...).
    channels: tuple[str, ...] = ()
    #: The recipients' current conversation languages.
    languages: tuple[str, ...] = ()
    #: Particular residents: their conversation ids (one conversation, or a list of residents).
    conversation_ids: tuple[str, ...] = ()
    #: Districts of residents: refused until a resident's district is stored (see the package docstring).
    districts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The filter as stored with the notification."""
        return {"bot": self.bot, "channels": list(self.channels), "languages": list(self.languages),
                "conversation_ids": list(self.conversation_ids), "districts": list(self.districts)}


@dataclass(frozen=True)
class NotificationContent:
    """What to say: a catalog key with its parameters, or curated texts per language (exactly one of them)."""

    key: str | None = None
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def catalog(cls, key: str, **params: ParamValue) -> NotificationContent:
        """A catalog text, rendered in each recipient's language."""
        return cls(key=key, params=params)

    @classmethod
    def curated(cls, texts: Mapping[str, str]) -> NotificationContent:
        """Texts written per language; other languages are machine translated or fall back."""
        return cls(texts=dict(texts))

    def to_json(self) -> dict[str, Any]:
        """The content as stored with the notification."""
        if self.key is not None:
            return {"key": self.key, "params": dict(self.params)}
        return {"texts": dict(self.texts)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NotificationContent:
        """The content :meth:`to_json` stored."""
        if data.get("key") is not None:
            return cls(key=str(data["key"]), params=dict(data.get("params") or {}))
        return cls(texts={str(language): str(text) for language, text in (data.get("texts") or {}).items()})


@dataclass(frozen=True)
class NotificationReceipt:
    """What :meth:`NotificationService.send` queued: ``id`` (None for a preview) and how many recipients.

    ``missing_languages``: recipients' languages without a curated text (they get a machine
    translation marked as such, or the fallback language): the warning to read before sending.
    """

    id: int | None
    recipients: int
    missing_languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeadLetter:
    """A delivery that failed for good (after every retry)."""

    conversation_id: str
    #: The route that failed: the conversation's channel, or another route such as ``email``.
    channel: str
    reason: str | None
    attempts: int


@dataclass(frozen=True)
class NotificationReport:
    """How far a notification got: counts of its deliveries by status, and its dead letters."""

    id: int
    bot: str
    kind: NotificationKind
    status: NotificationStatus
    counts: Mapping[DeliveryStatus, int]
    dead_letters: tuple[DeadLetter, ...] = ()

    @property
    def recipients(self) -> int:
        """Every delivery, whatever its status."""
        return sum(self.counts.values())

    def to_json(self) -> dict[str, Any]:
        """The report as the broadcasts API returns it (``pending`` = queued, or in a batch being sent)."""
        return {
            "id": self.id, "bot": self.bot, "kind": self.kind.value, "status": self.status.value,
            "recipients": self.recipients, "sent": self.counts.get(DeliveryStatus.SENT, 0),
            "failed": self.counts.get(DeliveryStatus.FAILED, 0), "skipped": self.counts.get(DeliveryStatus.SKIPPED, 0),
            "pending": self.counts.get(DeliveryStatus.QUEUED, 0) + self.counts.get(DeliveryStatus.SENDING, 0),
            "dead_letters": [{"conversation_id": item.conversation_id, "channel": item.channel,
                              "reason": item.reason, "attempts": item.attempts} for item in self.dead_letters],
        }


def overall_status(counts: Mapping[DeliveryStatus, int]) -> NotificationStatus:
    """Queued while nothing was sent or settled, done when nothing is queued or being sent, sending in between."""
    queued = counts.get(DeliveryStatus.QUEUED, 0)
    in_flight = counts.get(DeliveryStatus.SENDING, 0)
    if queued + in_flight == 0:
        return NotificationStatus.DONE
    return NotificationStatus.SENDING if sum(counts.values()) > queued else NotificationStatus.QUEUED
