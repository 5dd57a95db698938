"""SQL of the staff desk: the handoff queue, participants, pushed messages, notes and labels.

Every method is one short transaction; nothing is cached between requests, so several
servers can share the queue. A claim is a conditional UPDATE, so two members of staff
pressing "take" at once cannot both get the same conversation.
Every change wakes the consoles once it has committed (``bot.live``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.desk.views import NoteView, Participant
from bot.enums import ConversationMode, Direction, HandoffKind, HandoffReason, HandoffStatus, Role
from bot.live import DESK_TOPIC, mark
from bot.storage import models
from bot.storage.messages import MessageLog, OutOfTurnMessage
from bot.types import Reply

__all__ = ["OPEN_STATUSES", "ROOM_ROLES", "DeskStore", "HandoffView", "Participant", "StoredMessage"]

#: Handoffs the desk still works on: the open ones (``bot.enums.OPEN_HANDOFF_STATUSES``) and out-of-hours tickets.
OPEN_STATUSES = (HandoffStatus.QUEUED, HandoffStatus.ACTIVE, HandoffStatus.CALLBACK)
#: Who joins a handoff's room and writes to the resident as themselves.
ROOM_ROLES = (Role.STAFF, Role.INTERPRETER)


@dataclass(frozen=True)
class HandoffView:
    """A handoff with its conversation, as the console lists it."""

    id: int
    conversation_id: str
    bot: str
    channel: str
    sender: str
    status: HandoffStatus
    kind: HandoffKind
    reason: HandoffReason | str
    language: str
    created_at: datetime
    claimed_at: datetime | None
    resolved_at: datetime | None
    last_activity_at: datetime
    assigned_to: Participant | None
    ticket: str | None
    callback_phone: str | None
    callback_message: str | None
    labels: tuple[str, ...]
    satisfaction: int | None
    details: dict[str, Any]
    participants: tuple[Participant, ...] = field(default=())


@dataclass(frozen=True)
class StoredMessage:
    """One message of a conversation, for the console."""

    id: int
    direction: Direction
    role: Role
    text: str
    language: str | None
    payload: dict[str, Any]
    #: The display name of the console account that wrote it.
    author: str | None
    created_at: datetime


class DeskStore:
    """The queue and the rooms in SQL; messages are written through :class:`MessageLog`."""

    def __init__(self, sessions: sessionmaker[Session], messages: MessageLog | None = None) -> None:
        self._sessions = sessions
        self._messages = messages if messages is not None else MessageLog(sessions)

    # --- reading ------------------------------------------------------------------------

    def handoffs(self, *, open_only: bool = True, participant: str | None = None,
                 handoff_id: int | None = None) -> list[HandoffView]:
        """Handoffs oldest first; ``participant``: only those this username takes part in."""
        with self._sessions() as session:
            query = (select(models.HandoffRequest, models.Conversation)
                     .join(models.Conversation, models.Conversation.id == models.HandoffRequest.conversation_id)
                     .order_by(models.HandoffRequest.id))
            if open_only:
                query = query.where(models.HandoffRequest.status.in_(OPEN_STATUSES))
            if handoff_id is not None:
                query = query.where(models.HandoffRequest.id == handoff_id)
            rows = session.execute(query).all()
            views = [self._view(session, handoff, conversation) for handoff, conversation in rows]
        if participant is not None:
            views = [v for v in views if any(p.username == participant for p in v.participants)]
        return views

    def handoff(self, handoff_id: int) -> HandoffView | None:
        """One handoff (open or not)."""
        found = self.handoffs(open_only=False, handoff_id=handoff_id)
        return found[0] if found else None

    def current(self, conversation_id: str) -> HandoffView | None:
        """The conversation's open handoff, if any."""
        with self._sessions() as session:
            row = session.execute(
                select(models.HandoffRequest, models.Conversation)
                .join(models.Conversation, models.Conversation.id == models.HandoffRequest.conversation_id)
                .where(models.HandoffRequest.conversation_id == conversation_id,
                       models.HandoffRequest.status.in_(OPEN_STATUSES))
                .order_by(models.HandoffRequest.id.desc()).limit(1)
            ).first()
            return None if row is None else self._view(session, row[0], row[1])

    def position(self, handoff: HandoffView) -> int:
        """1 + the queued handoffs of the same bot that came earlier."""
        with self._sessions() as session:
            ahead = session.scalar(
                select(func.count(models.HandoffRequest.id))
                .join(models.Conversation, models.Conversation.id == models.HandoffRequest.conversation_id)
                .where(models.HandoffRequest.status == HandoffStatus.QUEUED, models.Conversation.bot == handoff.bot,
                       models.HandoffRequest.id < handoff.id)
            )
            return int(ahead or 0) + 1

    def queued_count(self, bot: str) -> int:
        """How many residents wait for ``bot``'s team."""
        with self._sessions() as session:
            return int(session.scalar(
                select(func.count(models.HandoffRequest.id))
                .join(models.Conversation, models.Conversation.id == models.HandoffRequest.conversation_id)
                .where(models.HandoffRequest.status == HandoffStatus.QUEUED, models.Conversation.bot == bot)
            ) or 0)

    def messages(self, conversation_id: str, after: int = 0) -> list[StoredMessage]:
        """The conversation's messages (bot transcript included), oldest first."""
        with self._sessions() as session:
            rows = session.execute(
                select(models.Message, models.User.display_name)
                .outerjoin(models.User, models.User.id == models.Message.user_id)
                .where(models.Message.conversation_id == conversation_id, models.Message.id > after)
                .order_by(models.Message.id)
            ).all()
            return [StoredMessage(m.id, Direction(m.direction), Role(m.role), m.text, m.language,
                                  dict(m.payload or {}), name, _aware(m.created_at)) for m, name in rows]

    def notes(self, handoff_id: int) -> list[NoteView]:
        """Private notes, oldest first."""
        with self._sessions() as session:
            rows = session.execute(
                select(models.HandoffNote, models.User.display_name)
                .outerjoin(models.User, models.User.id == models.HandoffNote.user_id)
                .where(models.HandoffNote.handoff_id == handoff_id).order_by(models.HandoffNote.id)
            ).all()
            return [NoteView(n.id, name, n.text, _aware(n.created_at)) for n, name in rows]

    def fingerprint(self) -> str:
        """Changes whenever a handoff or a message changes (the console's live updates poll it)."""
        with self._sessions() as session:
            last_message = session.scalar(select(func.max(models.Message.id))) or 0
            last_change = session.scalar(select(func.max(models.HandoffRequest.updated_at)))
            notes = session.scalar(select(func.max(models.HandoffNote.id))) or 0
            return f"{last_message}:{last_change}:{notes}"

    # --- writing ------------------------------------------------------------------------

    def claim(self, handoff_id: int, user_id: int, *, participant: Participant, take_over: bool) -> bool:
        """Assign an open handoff to ``user_id``; False when someone else has it (and not ``take_over``)."""
        now = datetime.now(UTC)
        condition = [models.HandoffRequest.id == handoff_id, models.HandoffRequest.status.in_(OPEN_STATUSES)]
        if not take_over:
            condition.append((models.HandoffRequest.assigned_to.is_(None))
                             | (models.HandoffRequest.assigned_to == user_id))
        with self._sessions.begin() as session:
            updated = session.execute(update(models.HandoffRequest).where(*condition).values(
                status=HandoffStatus.ACTIVE, assigned_to=user_id, updated_at=now, last_activity_at=now,
                claimed_at=func.coalesce(models.HandoffRequest.claimed_at, now)))
            if updated.rowcount != 1:  # type: ignore[attr-defined]
                return False
            mark(session, DESK_TOPIC)
            handoff = session.get(models.HandoffRequest, handoff_id)
            assert handoff is not None
            self._join(session, handoff.conversation_id, participant)
            # A ticket left out of hours becomes a live conversation: the resident's answers go to staff.
            session.execute(
                update(models.ConversationState)
                .where(models.ConversationState.conversation_id == handoff.conversation_id)
                .values(mode=ConversationMode.HANDOFF, active_form=None, slots={},
                        version=models.ConversationState.version + 1, updated_at=now))
            return True

    def add_participant(self, handoff_id: int, participant: Participant) -> None:
        """Add an interpreter (or another member of staff) to the room."""
        with self._sessions.begin() as session:
            handoff = session.get(models.HandoffRequest, handoff_id)
            assert handoff is not None
            self._join(session, handoff.conversation_id, participant)
            handoff.updated_at = datetime.now(UTC)
            mark(session, DESK_TOPIC)

    def push(self, conversation_id: str, reply: Reply, *, role: Role, language: str,
             user_id: int | None = None, extra: dict[str, Any] | None = None,
             handoff_id: int | None = None) -> int:
        """Store a message for the resident outside a turn (channels push or poll it); returns its id.

        A message of staff or an interpreter in ``handoff_id`` counts as the handoff's latest activity.
        """
        now = datetime.now(UTC)
        message = OutOfTurnMessage(conversation_id, role, reply, language, user_id=user_id, extra=extra or {})
        with self._sessions.begin() as session:
            message_id = self._messages.add_out_of_turn(message, session=session)
            mark(session, DESK_TOPIC)  # the room shows it (to the other staff and interpreters in it)
            if handoff_id is not None and role in ROOM_ROLES:
                session.execute(update(models.HandoffRequest).where(models.HandoffRequest.id == handoff_id)
                                .values(last_activity_at=now, updated_at=now))
            return message_id

    def add_note(self, handoff_id: int, user_id: int, text: str) -> None:
        """A private note."""
        with self._sessions.begin() as session:
            session.add(models.HandoffNote(handoff_id=handoff_id, user_id=user_id, text=text))
            mark(session, DESK_TOPIC)
            session.execute(update(models.HandoffRequest).where(models.HandoffRequest.id == handoff_id)
                            .values(updated_at=datetime.now(UTC)))

    def set_labels(self, handoff_id: int, labels: list[str]) -> None:
        """Replace the labels."""
        with self._sessions.begin() as session:
            session.execute(update(models.HandoffRequest).where(models.HandoffRequest.id == handoff_id)
                            .values(labels=labels, updated_at=datetime.now(UTC)))
            mark(session, DESK_TOPIC)

    def cache_translation(self, message_id: int, language: str, translation: dict[str, Any]) -> None:
        """Keep a message's translation for a reader language with the message (translated once)."""
        self._messages.keep_translation(message_id, language, translation)

    def resolve(self, handoff_id: int, status: HandoffStatus = HandoffStatus.RESOLVED) -> bool:
        """End an open handoff and give the conversation back to the bot (the state's version moves on)."""
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            updated = session.execute(
                update(models.HandoffRequest)
                .where(models.HandoffRequest.id == handoff_id, models.HandoffRequest.status.in_(OPEN_STATUSES))
                .values(status=status, resolved_at=now, updated_at=now))
            if updated.rowcount != 1:  # type: ignore[attr-defined]
                return False
            mark(session, DESK_TOPIC)
            handoff = session.get(models.HandoffRequest, handoff_id)
            assert handoff is not None
            session.execute(
                update(models.ConversationState)
                .where(models.ConversationState.conversation_id == handoff.conversation_id)
                .values(mode=ConversationMode.BOT, misses=0, active_form=None, slots={},
                        version=models.ConversationState.version + 1, updated_at=now))
            session.execute(
                update(models.Participant)
                .where(models.Participant.conversation_id == handoff.conversation_id,
                       models.Participant.role.in_(ROOM_ROLES), models.Participant.left_at.is_(None))
                .values(left_at=now))
            return True

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    def _join(session: Session, conversation_id: str, participant: Participant) -> None:
        present = session.scalar(select(models.Participant.id).where(
            models.Participant.conversation_id == conversation_id, models.Participant.role == participant.role,
            models.Participant.user_name == participant.username, models.Participant.left_at.is_(None)))
        if present is None:
            session.add(models.Participant(conversation_id=conversation_id, role=participant.role,
                                           user_name=participant.username, language=participant.language))

    @staticmethod
    def _view(session: Session, handoff: models.HandoffRequest, conversation: models.Conversation) -> HandoffView:
        people = session.execute(
            select(models.Participant, models.User.display_name)
            .outerjoin(models.User, models.User.username == models.Participant.user_name)
            .where(models.Participant.conversation_id == conversation.id,
                   models.Participant.role.in_(ROOM_ROLES), models.Participant.left_at.is_(None))
            .order_by(models.Participant.id)
        ).all()
        assigned = session.get(models.User, handoff.assigned_to) if handoff.assigned_to else None
        # The resident may have switched language since asking: everything follows the current one.
        current = session.scalar(select(models.ConversationState.language)
                                 .where(models.ConversationState.conversation_id == conversation.id))
        return HandoffView(
            id=handoff.id, conversation_id=conversation.id, bot=conversation.bot, channel=conversation.channel,
            sender=conversation.sender, status=HandoffStatus(handoff.status), kind=HandoffKind(handoff.kind),
            reason=_reason(handoff.reason),
            language=current or handoff.language or "ja", created_at=_aware(handoff.created_at),
            claimed_at=_aware(handoff.claimed_at) if handoff.claimed_at else None,
            resolved_at=_aware(handoff.resolved_at) if handoff.resolved_at else None,
            last_activity_at=_aware(handoff.last_activity_at),
            assigned_to=None if assigned is None else Participant(Role.STAFF, assigned.username,
                                                                  assigned.display_name, assigned.language),
            ticket=handoff.ticket, callback_phone=handoff.callback_phone, callback_message=handoff.callback_message,
            labels=tuple(handoff.labels or ()), satisfaction=handoff.satisfaction, details=dict(handoff.details or {}),
            participants=tuple(Participant(Role(p.role), p.user_name, name, p.language) for p, name in people),
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _reason(stored: str) -> HandoffReason | str:
    """The stored reason as a :class:`HandoffReason` (another string is kept as it is)."""
    try:
        return HandoffReason(stored)
    except ValueError:
        return stored
