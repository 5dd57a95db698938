"""The SQL store: every turn's reads and writes, in short transactions.

An inbound message is committed before the engine touches it, so a crash later
never loses it; a turn's outcome (state, replies, handoff request) is committed in
one transaction, so nothing is half-written. ``version`` makes concurrent servers
safe: a turn that lost a race raises :class:`StateConflict` and is retried.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.enums import ConversationMode, HandoffStatus, LanguageSource, MessageStatus, Role
from bot.live import DESK_TOPIC, mark
from bot.records import (
    CompletedTurn,
    DialogueState,
    HandoffChange,
    HandoffDraft,
    InboundRecord,
    OutboundDraft,
    StateConflict,
)
from bot.storage import models
from bot.storage.messages import MessageLog
from bot.storage.turns import add_turn_extras
from bot.types import InboundMessage, TranscriptEntry

__all__ = ["ConsentStore", "SqlStore", "StateConflict"]


class SqlStore:
    """The :class:`bot.protocols.Store` on SQLAlchemy (SQLite or PostgreSQL)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._messages = MessageLog(sessions)

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The session factory (the desk and the outbox share the database)."""
        return self._sessions

    def record_inbound(self, message: InboundMessage) -> InboundRecord:
        """Store ``message`` (creating its conversation); a known ``external_id`` is a duplicate."""
        with self._sessions.begin() as session:
            conversation = self._conversation(session, message.bot, message.channel, message.sender)
            if message.external_id is not None:
                existing = session.scalar(
                    select(models.Message.id).where(
                        models.Message.conversation_id == conversation.id,
                        models.Message.external_id == message.external_id,
                    )
                )
                if existing is not None:
                    return InboundRecord(conversation.id, existing, duplicate=True)
            message_id = self._messages.add_inbound(conversation.id, message, session=session)
            return InboundRecord(conversation.id, message_id)

    def load_state(self, conversation_id: str) -> DialogueState:
        """The stored state, or a fresh one for a new conversation."""
        with self._sessions() as session:
            row = session.get(models.ConversationState, conversation_id)
            if row is None:
                return DialogueState()
            return DialogueState(
                language=row.language, language_source=LanguageSource(row.language_source) if row.language_source
                else None, active_form=row.active_form, slots=dict(row.slots or {}), misses=row.misses,
                mode=ConversationMode(row.mode), district=row.district, version=row.version,
            )

    def complete_turn(self, turn: CompletedTurn) -> None:
        """Write state, replies, the inbound message's outcome and any handoff request at once."""
        now = datetime.now(UTC)
        state = turn.state
        values = {
            "language": state.language, "language_source": state.language_source,
            "active_form": state.active_form, "slots": state.slots, "misses": state.misses,
            "mode": state.mode, "district": state.district, "version": state.version + 1, "updated_at": now,
        }
        with self._sessions.begin() as session:
            if state.version == 0 and session.get(models.ConversationState, turn.conversation_id) is None:
                session.add(models.ConversationState(conversation_id=turn.conversation_id, **values))
                try:
                    session.flush()
                except IntegrityError:
                    raise StateConflict(turn.conversation_id) from None
            else:
                updated = session.execute(
                    update(models.ConversationState)
                    .where(models.ConversationState.conversation_id == turn.conversation_id,
                           models.ConversationState.version == state.version)
                    .values(**values)
                )
                if updated.rowcount != 1:  # type: ignore[attr-defined]
                    raise StateConflict(turn.conversation_id)
            self._messages.settle_inbound(turn.inbound_id, language=turn.language, topic=turn.topic,
                                          confidence=turn.confidence, session=session)
            for draft in turn.outbound:
                self._messages.add_reply(turn.conversation_id, turn.inbound_id, draft, topic=turn.topic,
                                         detached=turn.detached, session=session)
            add_turn_extras(session, turn, now)
            if turn.handoff is not None:
                self._add_handoff(session, turn.conversation_id, turn.handoff)
            if turn.handoff_change is not None:
                self._change_handoff(session, turn.conversation_id, turn.handoff_change, now)
            if turn.handoff is not None or turn.handoff_change is not None or state.mode == ConversationMode.HANDOFF:
                mark(session, DESK_TOPIC)  # the queue or a room the console shows changed
            session.execute(
                update(models.Conversation).where(models.Conversation.id == turn.conversation_id)
                .values(updated_at=now)
            )

    @staticmethod
    def _add_handoff(session: Session, conversation_id: str, draft: HandoffDraft) -> None:
        session.add(models.HandoffRequest(
            conversation_id=conversation_id, kind=draft.kind, reason=draft.reason, language=draft.language,
            status=draft.status, ticket=draft.ticket, callback_phone=draft.callback_phone,
            callback_message=draft.callback_message, details=dict(draft.details), labels=[],
        ))
        if draft.callback_phone:
            # Giving the number after the "may we call you?" question is the consent; kept with the ticket.
            conversation = session.get(models.Conversation, conversation_id)
            assert conversation is not None
            session.add(models.Consent(bot=conversation.bot, channel=conversation.channel, sender=conversation.sender,
                                       kind="callback_phone", granted=True))

    @staticmethod
    def _change_handoff(session: Session, conversation_id: str, change: HandoffChange, now: datetime) -> None:
        where = [models.HandoffRequest.id == change.handoff_id,
                 models.HandoffRequest.conversation_id == conversation_id]
        if change.status is not None:
            updated = session.execute(update(models.HandoffRequest).where(
                *where, models.HandoffRequest.status.in_((HandoffStatus.QUEUED, HandoffStatus.ACTIVE))
            ).values(status=change.status, resolved_at=now, updated_at=now))
            if updated.rowcount != 1:  # type: ignore[attr-defined]
                raise StateConflict(conversation_id)  # staff took or closed it meanwhile: decide again
        if change.satisfaction is not None:
            session.execute(update(models.HandoffRequest).where(*where, models.HandoffRequest.satisfaction.is_(None))
                            .values(satisfaction=change.satisfaction, updated_at=now))

    def set_active(self, bot: str, channel: str, sender: str, active: bool) -> None:
        """Mark a resident as following (True) or gone (False) on a channel."""
        with self._sessions.begin() as session:
            conversation = self._conversation(session, bot, channel, sender)
            conversation.active = active
            conversation.updated_at = datetime.now(UTC)

    def is_active(self, bot: str, channel: str, sender: str) -> bool:
        """Whether messages may still be pushed to the resident (unknown residents are active)."""
        with self._sessions() as session:
            active = session.scalar(select(models.Conversation.active).where(
                models.Conversation.bot == bot, models.Conversation.channel == channel,
                models.Conversation.sender == sender))
            return True if active is None else bool(active)

    def fail_turn(self, message_id: int, reason: str, apology: OutboundDraft | None = None,
                  *, detached: bool = False) -> None:
        """Mark an inbound message as failed (it stays stored) and store the apology it is answered with."""
        with self._sessions.begin() as session:
            if not self._messages.set_status(message_id, MessageStatus.FAILED, expected=MessageStatus.RECEIVED,
                                             error=reason, session=session):
                return  # answered meanwhile (by another server): never answer twice
            conversation_id = session.scalar(select(models.Message.conversation_id)
                                             .where(models.Message.id == message_id))
            if apology is not None and conversation_id is not None:
                self._messages.add_reply(conversation_id, message_id, apology, detached=detached, session=session)

    def transcript(self, bot: str, sender: str) -> list[TranscriptEntry]:
        """All messages of ``sender`` with ``bot`` on every channel, oldest first."""
        with self._sessions() as session:
            rows = session.execute(
                select(models.Message, models.Conversation.channel)
                .join(models.Conversation, models.Conversation.id == models.Message.conversation_id)
                .where(models.Conversation.bot == bot, models.Conversation.sender == sender)
                .order_by(models.Message.id)
            ).all()
            return [
                TranscriptEntry(
                    id=m.id, channel=channel, direction=m.direction, role=m.role, text=m.text,
                    language=m.language, topic=m.topic, status=m.status, created_at=_aware(m.created_at),
                    payload=dict(m.payload or {}),
                )
                for m, channel in rows
            ]

    def updates(self, bot: str, channel: str, sender: str, after: int) -> list[TranscriptEntry]:
        """Out-of-turn messages for the resident with id > ``after``; pending ones become sent."""
        with self._sessions.begin() as session:
            rows = session.scalars(
                select(models.Message)
                .join(models.Conversation, models.Conversation.id == models.Message.conversation_id)
                .where(models.Conversation.bot == bot, models.Conversation.channel == channel,
                       models.Conversation.sender == sender, models.Message.out_of_turn.is_(True),
                       models.Message.id > after)
                .order_by(models.Message.id)
            ).all()
            for m in rows:
                if m.status == MessageStatus.PENDING:
                    self._messages.set_status(m.id, MessageStatus.SENT, session=session)
            return [
                TranscriptEntry(id=m.id, channel=channel, direction=m.direction, role=m.role, text=m.text,
                                language=m.language, topic=m.topic, status=MessageStatus.SENT,
                                created_at=_aware(m.created_at), payload=dict(m.payload or {}))
                for m in rows
            ]

    @staticmethod
    def _conversation(session: Session, bot: str, channel: str, sender: str) -> models.Conversation:
        query = select(models.Conversation).where(
            models.Conversation.bot == bot, models.Conversation.channel == channel,
            models.Conversation.sender == sender,
        )
        conversation = session.scalar(query)
        if conversation is not None:
            return conversation
        conversation = models.Conversation(id=uuid.uuid4().hex, bot=bot, channel=channel, sender=sender)
        try:
            with session.begin_nested():
                session.add(conversation)
                session.add(models.Participant(conversation_id=conversation.id, role=Role.RESIDENT))
                session.add(models.Participant(conversation_id=conversation.id, role=Role.BOT))
        except IntegrityError:
            # Another server created it a moment ago.
            found = session.scalar(query)
            assert found is not None
            return found
        return conversation


class ConsentStore:
    """Residents' consents, newest decision wins."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def record(self, bot: str, channel: str, sender: str, kind: str, granted: bool) -> None:
        """Store a grant or a withdrawal."""
        with self._sessions.begin() as session:
            session.add(models.Consent(bot=bot, channel=channel, sender=sender, kind=kind, granted=granted))

    def has(self, bot: str, channel: str, sender: str, kind: str) -> bool:
        """Whether the latest decision for ``kind`` is a grant."""
        with self._sessions() as session:
            granted = session.scalar(
                select(models.Consent.granted)
                .where(models.Consent.bot == bot, models.Consent.channel == channel,
                       models.Consent.sender == sender, models.Consent.kind == kind)
                .order_by(models.Consent.id.desc()).limit(1)
            )
            return bool(granted)


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
