"""What a turn reads and writes: the core's own record types, shared by the engine and every store.

Nothing here touches a database; ``bot.storage`` maps these onto tables. Slot values are
plain strings; a *secret* slot (a PIN, a registration number) only ever holds a
:data:`SEALED_PREFIX` reference to a sealed value, never the value itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.effects import Effect
from bot.enums import ConversationMode, HandoffKind, HandoffReason, HandoffStatus, LanguageSource, Role
from bot.types import InboundMessage, Reply

#: Slot values that stand for a sealed secret (``sealed:<id>``): the secret itself is never in the state.
SEALED_PREFIX = "sealed:"


class StateConflict(RuntimeError):
    """Another server (or the staff desk) changed the conversation state during this turn."""


@dataclass(frozen=True)
class InboundRecord:
    """Where an inbound message was stored (``duplicate``: a redelivery of one already stored)."""

    conversation_id: str
    message_id: int
    duplicate: bool = False


@dataclass
class DialogueState:
    """The engine's memory of a conversation."""

    language: str | None = None
    language_source: LanguageSource | None = None
    active_form: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    misses: int = 0
    mode: ConversationMode = ConversationMode.BOT
    #: The district the resident named (kept across forms; broadcasts can be addressed to districts).
    district: str | None = None
    version: int = 0


@dataclass(frozen=True)
class OutboundDraft:
    """A reply to store with the turn."""

    reply: Reply
    language: str
    role: Role = Role.BOT


@dataclass(frozen=True)
class HandoffDraft:
    """A handoff request created by the turn (``queued`` for staff now, ``callback`` for a ticket)."""

    kind: HandoffKind
    reason: HandoffReason | str
    language: str
    status: HandoffStatus = HandoffStatus.QUEUED
    ticket: str | None = None
    callback_phone: str | None = None
    callback_message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HandoffChange:
    """A change the resident made to their handoff: cancelled / timed out, or a 1-5 rating."""

    handoff_id: int
    status: HandoffStatus | None = None
    satisfaction: int | None = None


@dataclass(frozen=True)
class SecretRequestDraft:
    """A one-time secure form the turn opened: ``token`` is only in the link sent to the resident."""

    token: str
    form: str
    slots: tuple[str, ...]


@dataclass(frozen=True)
class CompletedTurn:
    """Everything a turn writes, committed together (effects are performed only after this commit)."""

    conversation_id: str
    inbound_id: int
    state: DialogueState
    outbound: tuple[OutboundDraft, ...]
    language: str
    topic: str | None
    confidence: float | None
    handoff: HandoffDraft | None = None
    handoff_change: HandoffChange | None = None
    effects: tuple[Effect, ...] = ()
    secret_request: SecretRequestDraft | None = None
    #: Replies nobody waits for on a connection (recovered turns, secure-form turns): channels push or poll them.
    detached: bool = False


@dataclass(frozen=True)
class TurnOutcome:
    """A stored message's outcome as its sender sees it: its status and the replies stored for it."""

    status: str
    replies: tuple[Reply, ...]
    language: str | None
    topic: str | None
    confidence: float | None


@dataclass(frozen=True)
class PendingTurn:
    """The oldest unanswered message of a conversation, rebuilt from the store."""

    conversation_id: str
    message_id: int
    message: InboundMessage
    #: Turns started for it so far, this one included.
    attempts: int
