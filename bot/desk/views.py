"""Typed views of the staff desk: the console's users and what its JSON API returns.

Each view is a frozen dataclass whose field names are the JSON keys. ``to_json()`` gives the
API's JSON: enums become their strings, datetimes ISO 8601 text, tuples lists, nested views
objects. So the HTTP API returns exactly what it returned when these were dictionaries.

This module imports nothing heavy (no database, no password hashing): :mod:`bot.protocols`
and the connectors use these types.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from bot.enums import Direction, HandoffKind, HandoffReason, HandoffStatus, Role
from bot.types import Button


def json_value(value: object) -> Any:
    """``value`` as JSON-ready data (enums → strings, datetimes → ISO 8601, dataclasses → objects)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields_json(value)
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    return value


def _fields_json(view: Any) -> dict[str, Any]:
    return {item.name: json_value(getattr(view, item.name)) for item in dataclasses.fields(view)}


class JsonView:
    """Base of the views: ``to_json()`` from the dataclass fields (field name = JSON key)."""

    def to_json(self) -> dict[str, Any]:
        """The view as the console's JSON API returns it."""
        return _fields_json(self)


# --- people --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserProfile(JsonView):
    """A console user as the console shows them (``/auth/me``, the interpreter list); no id, no secrets."""

    username: str
    display_name: str
    role: Role
    language: str
    interprets: tuple[str, ...] = ()


@dataclass(frozen=True)
class StaffUser:
    """A console account (staff, interpreter or admin), e.g. the user of a session."""

    id: int
    username: str
    display_name: str
    role: Role
    #: The language the user reads and writes in (the console translates everything into it).
    language: str
    #: Interpreters: the languages they interpret besides ``language``.
    interprets: tuple[str, ...] = field(default=())

    def profile(self) -> UserProfile:
        """What the console may show about this user."""
        return UserProfile(self.username, self.display_name, self.role, self.language, self.interprets)

    def to_json(self) -> dict[str, Any]:
        """JSON form for the console (the profile: the database id stays on the server)."""
        return self.profile().to_json()


@dataclass(frozen=True)
class LoginSession:
    """A new session: the token (shown once) and its user."""

    token: str
    user: StaffUser
    expires_at: datetime


@dataclass(frozen=True)
class Participant(JsonView):
    """A person in a handoff's room besides the resident: staff or an interpreter."""

    role: Role
    username: str | None
    display_name: str | None
    language: str | None


@dataclass(frozen=True)
class Assignee(JsonView):
    """The member of staff a handoff is assigned to."""

    username: str | None
    display_name: str | None


# --- the queue -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoffSummary(JsonView):
    """A handoff as the console's queue lists it (``GET /api/v1/handoffs``)."""

    id: int
    bot: str
    #: The bot's name in Japanese (the desk's language).
    bot_name: str
    channel: str
    sender: str
    status: HandoffStatus
    kind: HandoffKind
    #: A :class:`HandoffReason`; older rows may hold another string.
    reason: HandoffReason | str
    #: The resident's current language and its name in that language.
    language: str
    language_name: str
    #: Seconds from the request until it was claimed (or closed, or now).
    waiting_seconds: int
    created_at: datetime
    claimed_at: datetime | None
    assigned_to: Assignee | None
    ticket: str | None
    callback_phone: str | None
    callback_message: str | None
    labels: tuple[str, ...]
    satisfaction: int | None
    #: Where the kiosk stands when the request came from one.
    location: str | None
    participants: tuple[Participant, ...]

    def __getitem__(self, key: str) -> Any:
        """Deprecated: the JSON field ``key`` (for callers written when this was a dict); use attributes."""
        return self.to_json()[key]


# --- a room --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReaderText:
    """A message's text for one reader language; kept with the message once machine translated."""

    text: str
    language: str
    machine_translated: bool
    #: False when no translation into the reader's language exists (``text`` is then the original).
    available: bool

    def to_json(self) -> dict[str, Any]:
        """The form kept in the message's payload under ``translations``."""
        return _fields_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReaderText:
        """The text kept by :meth:`to_json`."""
        return cls(str(data["text"]), str(data["language"]), bool(data["machine_translated"]),
                   bool(data["available"]))


@dataclass(frozen=True)
class RoomMessage(JsonView):
    """One message of a room in the reader's language, with its original."""

    id: int
    role: Role
    direction: Direction
    #: The display name of the staff member or interpreter who wrote it.
    author: str | None
    text: str
    language: str
    machine_translated: bool
    translation_available: bool
    original: str
    original_language: str
    buttons: tuple[Button, ...]
    created_at: datetime
    #: Staff's and interpreters' own messages: what the resident's channel showed, and in which language.
    sent_text: str | None
    sent_language: str | None


@dataclass(frozen=True)
class NoteView(JsonView):
    """A private note of staff on a handoff."""

    id: int
    author: str | None
    text: str
    created_at: datetime


@dataclass(frozen=True)
class RoomView(JsonView):
    """A handoff's room: the handoff, the whole conversation in the reader's language, the notes."""

    handoff: HandoffSummary
    messages: tuple[RoomMessage, ...]
    #: Empty for interpreters (notes are for staff).
    notes: tuple[NoteView, ...]


@dataclass(frozen=True)
class CannedReply(JsonView):
    """A canned reply staff can send, titled in the reader's language."""

    id: str
    text: str
