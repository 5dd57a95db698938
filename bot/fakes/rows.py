"""The in-memory tables behind :class:`~bot.fakes.store.MemoryStore`, one dataclass per SQL table.

Each row keeps the columns the SQL store reads and writes (``bot.storage.models``), so the
memory stores can follow the SQL statements one for one. Tests may read them (``store.messages``,
``store.handoffs``, ``store.effects`` ...) to check what a conversation stored; only the
stores write them, under the store's lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.desk.views import Participant
from bot.enums import Direction, EffectStatus, HandoffKind, HandoffReason, HandoffStatus, MessageStatus, Role
from bot.records import DialogueState
from bot.types import TranscriptEntry


class Clock:
    """A settable clock shared by the memory stores and the staff desk (leases, retries, desk hours)."""

    def __init__(self, moment: datetime | None = None) -> None:
        self.moment = moment or datetime.now(UTC)

    def __call__(self) -> datetime:
        """The current moment."""
        return self.moment

    def advance(self, **delta: float) -> datetime:
        """Move on by ``timedelta(**delta)`` (e.g. ``minutes=5``); returns the new moment."""
        self.moment += timedelta(**delta)
        return self.moment

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (an aware datetime)."""
        self.moment = moment


@dataclass
class ConversationRow:
    """``conversations``: one resident of one bot on one channel, with its turn lease and state."""

    id: str
    bot: str
    channel: str
    sender: str
    active: bool = True
    lease_owner: str | None = None
    lease_until: datetime | None = None
    #: ``conversation_state`` (a private copy: the store never hands this object out).
    state: DialogueState | None = None


@dataclass
class MessageRow:
    """``messages``: inbound (received → processed | failed) and outbound (pending → sent)."""

    id: int
    conversation_id: str
    direction: Direction
    role: Role
    text: str
    payload: dict[str, Any]
    language: str | None
    status: MessageStatus
    created_at: datetime
    topic: str | None = None
    confidence: float | None = None
    external_id: str | None = None
    #: The inbound message an outbound one answers (``TurnQueue.outcome`` collects them).
    reply_to: int | None = None
    #: Written outside a reply (staff, effect results, detached turns): channels push or poll it.
    out_of_turn: bool = False
    attempts: int = 0
    error: str | None = None
    user_id: int | None = None

    def entry(self, channel: str, *, status: str | None = None) -> TranscriptEntry:
        """The row as the transcript shows it."""
        return TranscriptEntry(id=self.id, channel=channel, direction=self.direction, role=self.role, text=self.text,
                               language=self.language, topic=self.topic, status=status or self.status,
                               created_at=self.created_at, payload=dict(self.payload))


@dataclass
class HandoffRow:
    """``handoff_requests``: queued → active → resolved, or an out-of-hours ``callback`` ticket."""

    id: int
    conversation_id: str
    kind: HandoffKind
    reason: HandoffReason | str
    language: str
    status: HandoffStatus
    created_at: datetime
    last_activity_at: datetime
    ticket: str | None = None
    callback_phone: str | None = None
    callback_message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    satisfaction: int | None = None
    assigned_to: int | None = None
    claimed_at: datetime | None = None
    resolved_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass
class EffectRow:
    """``effects``: pending → running → done | failed, claimed by one worker at a time."""

    id: int
    conversation_id: str
    inbound_id: int
    position: int
    kind: str
    params: dict[str, Any]
    secret_id: str | None
    language: str
    status: EffectStatus
    next_attempt_at: datetime
    attempts: int = 0
    lease_until: datetime | None = None
    error: str | None = None


@dataclass
class SecretRequestRow:
    """``secret_requests``: a one-time secure form link (only the token's hash is kept)."""

    token_hash: str
    conversation_id: str
    form: str
    slots: tuple[str, ...]
    language: str
    expires_at: datetime
    used_at: datetime | None = None


@dataclass
class SealedRow:
    """``sealed_secrets``; in memory the values are kept in clear (a test double, never a deployment)."""

    conversation_id: str
    values: dict[str, str]
    expires_at: datetime


@dataclass
class ConsentRow:
    """``consents``: the newest decision of a kind wins."""

    bot: str
    channel: str
    sender: str
    kind: str
    granted: bool


@dataclass
class SeatRow:
    """``participants``: staff or an interpreter in a handoff's room until they leave."""

    conversation_id: str
    participant: Participant
    left_at: datetime | None = None


@dataclass
class NoteRow:
    """``handoff_notes``: a private note of staff."""

    id: int
    handoff_id: int
    user_id: int
    text: str
    created_at: datetime


@dataclass
class UserRow:
    """``users``: a console account; in memory the password is kept in clear (a test double)."""

    id: int
    username: str
    display_name: str
    role: Role
    language: str
    interprets: tuple[str, ...]
    password: str
    active: bool = True


@dataclass
class SessionRow:
    """``staff_sessions``: a login token and its expiry."""

    token: str
    user_id: int
    expires_at: datetime
