"""Plain data passed between connectors, the engine and the store.

Connectors import only this module and :mod:`bot.protocols` from ``bot``; they never
see the NLU or the knowledge base.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Location:
    """A place the resident shared (e.g. a LINE location message for a problem report)."""

    latitude: float
    longitude: float
    address: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    """A message as a connector received it, before any processing."""

    bot: str
    channel: str
    sender: str
    text: str
    #: An explicit language choice sent with the message (e.g. the widget's picker), or None.
    language: str | None = None
    #: Where the channel assigned an id (LINE webhookEventId), to drop redeliveries.
    external_id: str | None = None
    location: Location | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def stored_payload(self) -> dict[str, Any]:
        """What is stored with the message besides its text (metadata and a shared location)."""
        payload: dict[str, Any] = {"metadata": self.metadata} if self.metadata else {}
        if self.location is not None:
            payload["location"] = {"latitude": self.location.latitude, "longitude": self.location.longitude,
                                   "address": self.location.address}
        return payload

    @classmethod
    def from_stored(cls, bot: str, channel: str, sender: str, text: str, language: str | None,
                    external_id: str | None, payload: dict[str, Any]) -> InboundMessage:
        """The message as :meth:`stored_payload` stored it."""
        place = payload.get("location")
        location = Location(float(place["latitude"]), float(place["longitude"]), place.get("address")) \
            if isinstance(place, dict) else None
        metadata = payload.get("metadata")
        return cls(bot=bot, channel=channel, sender=sender, text=text, language=language, external_id=external_id,
                   location=location, metadata=dict(metadata) if isinstance(metadata, dict) else {})


@dataclass(frozen=True)
class Button:
    """A quick reply: ``payload`` is sent back as the next message's text."""

    title: str
    payload: str


@dataclass(frozen=True)
class Link:
    """A titled URL."""

    title: str
    url: str


@dataclass(frozen=True)
class Card:
    """A card: title, text, optional image and buttons (rendered as a flex message on LINE)."""

    title: str
    text: str
    image_url: str | None = None
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Reply:
    """One structured reply. Each connector renders what it can and falls back to ``text``."""

    text: str
    buttons: tuple[Button, ...] = ()
    links: tuple[Link, ...] = ()
    image_url: str | None = None
    cards: tuple[Card, ...] = ()
    #: Numbered steps of a guide (the kiosk shows one per screen).
    steps: tuple[str, ...] = ()
    #: Set when the text was machine-translated; ``original`` then holds the source text.
    machine_translated: bool = False
    original: str | None = None
    #: Where curated text came from, e.g. ``kb:residents/visa_renewal``: the staff console shows
    #: the same entry in the reader's language instead of machine translating the resident's copy.
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form used by the REST API and stored with outbound messages."""
        data: dict[str, Any] = {"text": self.text}
        if self.buttons:
            data["buttons"] = [{"title": b.title, "payload": b.payload} for b in self.buttons]
        if self.links:
            data["links"] = [{"title": link.title, "url": link.url} for link in self.links]
        if self.image_url:
            data["image"] = self.image_url
        if self.cards:
            data["cards"] = [
                {
                    "title": c.title,
                    "text": c.text,
                    "image": c.image_url,
                    "buttons": [{"title": b.title, "payload": b.payload} for b in c.buttons],
                }
                for c in self.cards
            ]
        if self.steps:
            data["steps"] = list(self.steps)
        if self.machine_translated:
            data["machine_translated"] = True
            data["original"] = self.original
        if self.source:
            data["source"] = self.source
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        """The reply stored by :meth:`to_dict` (extra keys are ignored)."""
        def buttons(items: Any) -> tuple[Button, ...]:
            return tuple(Button(str(b["title"]), str(b["payload"])) for b in items or ())

        return cls(
            text=str(data.get("text", "")),
            buttons=buttons(data.get("buttons")),
            links=tuple(Link(str(link["title"]), str(link["url"])) for link in data.get("links") or ()),
            image_url=data.get("image"),
            cards=tuple(Card(str(c["title"]), str(c["text"]), c.get("image"), buttons(c.get("buttons")))
                        for c in data.get("cards") or ()),
            steps=tuple(str(step) for step in data.get("steps") or ()),
            machine_translated=bool(data.get("machine_translated")),
            original=data.get("original"),
            source=data.get("source"),
        )


@dataclass(frozen=True)
class TurnResult:
    """What the engine decided for one inbound message."""

    conversation_id: str
    replies: tuple[Reply, ...]
    language: str
    topic: str | None
    confidence: float | None
    #: True when the message was a redelivery of one already handled (nothing was done).
    duplicate: bool = False


@dataclass(frozen=True)
class TranscriptEntry:
    """One stored message, as the transcript endpoint shows it."""

    id: int
    channel: str
    direction: str
    role: str
    text: str
    language: str | None
    topic: str | None
    status: str
    created_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class ChannelPolicy:
    """What every connector checks before handing a message to the engine."""

    bots: tuple[str, ...]
    languages: tuple[str, ...]
    default_language: str
    max_message_chars: int


class ClientError(Exception):
    """A request that cannot be done as asked: ``status`` is the HTTP status, ``code`` a stable id,
    ``message`` says what is wrong (the app answers ``{"error": {"code", "message"}}``)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class DeskError(ClientError):
    """A staff-desk request that cannot be done (no such handoff, wrong role, already taken ...)."""


@dataclass(frozen=True)
class BulkBatch:
    """One message for many residents of one channel, sent in one call (e.g. a LINE multicast).

    ``key`` identifies the batch for good: a retried batch has the same recipients and the same key,
    which the channel turns into the platform's retry key so the residents get it once.
    """

    bot: str
    key: str
    #: The residents' ids on the channel (``conversations.sender``), at most the sender's ``max_recipients``.
    recipients: tuple[str, ...]
    reply: Reply
    language: str
    #: Their conversations, in the same order (a route other than the conversation's channel, such as
    #: e-mail, finds the resident's address by it).
    conversation_ids: tuple[str, ...] = ()


class BulkRefused(Exception):
    """The channel refused a batch for good (a 4xx other than 429): its deliveries fail with ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        #: Short and free of personal data: stored as the deliveries' reason.
        self.reason = reason


@dataclass(frozen=True)
class RouteContact:
    """An address a resident gave, with their consent, to be reached on another route (e-mail).

    Built in memory from the sealed row (``bot.storage.contacts``); ``address`` is in clear only here:
    never log it (``bot.privacy.mask_address``) nor store it anywhere else. ``token`` is the secret of
    the resident's confirmation and unsubscribe links.
    """

    conversation_id: str
    bot: str
    #: The delivery route (``email``).
    route: str
    #: Empty once the resident unsubscribed (the address is deleted then).
    address: str
    #: The language the resident gave it in (the pages and the confirmation e-mail use it).
    language: str
    token: str
    confirmed: bool = False
    unsubscribed: bool = False

    @property
    def reachable(self) -> bool:
        """Whether notices may be sent to it: confirmed and not unsubscribed."""
        return self.confirmed and not self.unsubscribed and bool(self.address)
