"""``MemoryStore``: the SQL store (``bot.storage.store.SqlStore``) with its guarantees, in memory.

It implements :class:`~bot.protocols.Store`, :class:`~bot.protocols.FollowerStore` and
:class:`~bot.protocols.ResidentUpdates`, and holds the tables the other memory stores
(:mod:`bot.fakes.queues`, :mod:`bot.fakes.desk`) work on, so a whole deployment runs on one
``MemoryStore`` without a database. What the SQL store guarantees holds here too:

- a message is stored before anything else; a known ``external_id`` in the conversation is a
  duplicate (the stored message's id is returned, nothing is stored);
- a turn's state, replies (``reply_to`` its inbound message), effects, secure-form link and handoff
  are written at once, or nothing is: a turn decided on an old ``version`` raises
  :class:`~bot.records.StateConflict`, as does changing a handoff staff took or closed meanwhile;
- a failed message stays stored, answered by one apology, and never fails twice.

Every method takes the store's lock (a re-entrant one), so threads may share it.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.enums import Direction, EffectStatus, HandoffStatus, MessageStatus, Role
from bot.fakes.rows import (
    ConsentRow,
    ConversationRow,
    EffectRow,
    HandoffRow,
    MessageRow,
    NoteRow,
    SealedRow,
    SeatRow,
    SecretRequestRow,
    SessionRow,
    UserRow,
)
from bot.protocols import FollowerStore, ResidentUpdates, Store
from bot.records import CompletedTurn, DialogueState, HandoffDraft, InboundRecord, OutboundDraft, StateConflict
from bot.storage.turns import token_hash
from bot.types import InboundMessage, Reply, TranscriptEntry

#: How long a secure-form link works (as ``bot.storage.turns.add_turn_extras`` stores it).
SECURE_LINK_LIFETIME = timedelta(minutes=10)


class MemoryStore(Store, FollowerStore, ResidentUpdates):
    """Conversations, messages, states, handoffs, effects and the desk's tables in dictionaries."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        """``now`` is the clock of every timestamp, lease and retry (default: the real UTC time)."""
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self.conversations: dict[str, ConversationRow] = {}
        self.messages: dict[int, MessageRow] = {}
        self.handoffs: dict[int, HandoffRow] = {}
        self.effects: dict[int, EffectRow] = {}
        self.secret_requests: dict[str, SecretRequestRow] = {}
        self.sealed: dict[str, SealedRow] = {}
        self.consents: list[ConsentRow] = []
        self.seats: list[SeatRow] = []
        self.notes: dict[int, NoteRow] = {}
        self.users: dict[int, UserRow] = {}
        self.staff_sessions: dict[str, SessionRow] = {}
        self._last_ids: dict[str, int] = {}

    def next_id(self, table: str) -> int:
        """The next id of ``table`` (ids only grow, as database sequences do)."""
        with self.lock:
            self._last_ids[table] = self._last_ids.get(table, 0) + 1
            return self._last_ids[table]

    # --- Store ------------------------------------------------------------------------------

    def record_inbound(self, message: InboundMessage) -> InboundRecord:
        """Store ``message`` (creating its conversation); a known ``external_id`` is a duplicate."""
        with self.lock:
            conversation = self.conversation(message.bot, message.channel, message.sender)
            if message.external_id is not None:
                for row in self._messages_of(conversation.id):
                    if row.external_id == message.external_id:
                        return InboundRecord(conversation.id, row.id, duplicate=True)
            row = self._add_message(conversation.id, Direction.IN, Role.RESIDENT, message.text,
                                    message.stored_payload(),
                                    message.language, MessageStatus.RECEIVED, external_id=message.external_id)
            return InboundRecord(conversation.id, row.id)

    def load_state(self, conversation_id: str) -> DialogueState:
        """A copy of the stored state, or a fresh one for a new conversation."""
        with self.lock:
            row = self.conversations.get(conversation_id)
            return copy.deepcopy(row.state) if row is not None and row.state is not None else DialogueState()

    def complete_turn(self, turn: CompletedTurn) -> None:
        """Write state, replies, the inbound message's outcome, effects and any handoff at once."""
        with self.lock:
            conversation = self.conversations.get(turn.conversation_id)
            stored = conversation.state if conversation is not None else None
            if conversation is None or (stored is None and turn.state.version != 0) \
                    or (stored is not None and stored.version != turn.state.version):
                raise StateConflict(turn.conversation_id)
            change = turn.handoff_change
            target = self.handoffs.get(change.handoff_id) if change is not None else None
            if target is not None and target.conversation_id != turn.conversation_id:
                target = None  # another conversation's handoff: nothing to change
            if change is not None and change.status is not None and (
                    target is None or target.status not in (HandoffStatus.QUEUED, HandoffStatus.ACTIVE)):
                raise StateConflict(turn.conversation_id)  # staff took or closed it meanwhile: decide again
            # Nothing can fail from here on: the writes below are the transaction's.
            now = self.now()
            conversation.state = copy.deepcopy(turn.state)
            conversation.state.version = turn.state.version + 1
            inbound = self.messages.get(turn.inbound_id)
            if inbound is not None:
                inbound.status, inbound.language = MessageStatus.PROCESSED, turn.language
                inbound.topic, inbound.confidence = turn.topic, turn.confidence
            for draft in turn.outbound:
                self._add_message(turn.conversation_id, Direction.OUT, draft.role, draft.reply.text,
                                  draft.reply.to_dict(), draft.language, MessageStatus.PENDING, topic=turn.topic,
                                  reply_to=turn.inbound_id, out_of_turn=turn.detached)
            for position, effect in enumerate(turn.effects):
                effect_id = self.next_id("effects")
                self.effects[effect_id] = EffectRow(
                    effect_id, turn.conversation_id, turn.inbound_id, position, effect.kind, dict(effect.params),
                    effect.secret, turn.language, EffectStatus.PENDING, next_attempt_at=now)
            request = turn.secret_request
            if request is not None:
                self.secret_requests[token_hash(request.token)] = SecretRequestRow(
                    token_hash(request.token), turn.conversation_id, request.form, tuple(request.slots),
                    turn.language, expires_at=now + SECURE_LINK_LIFETIME)
            if turn.handoff is not None:
                self._add_handoff(conversation, turn.handoff, now)
            if change is not None and target is not None:
                if change.status is not None:
                    target.status, target.resolved_at, target.updated_at = change.status, now, now
                if change.satisfaction is not None and target.satisfaction is None:
                    target.satisfaction, target.updated_at = change.satisfaction, now

    def fail_turn(self, message_id: int, reason: str, apology: OutboundDraft | None = None,
                  *, detached: bool = False) -> None:
        """Mark an inbound message as failed (it stays stored) and store the apology it is answered with."""
        with self.lock:
            row = self.messages.get(message_id)
            if row is None or row.status != MessageStatus.RECEIVED:
                return  # answered meanwhile: never answer twice
            row.status, row.error = MessageStatus.FAILED, reason
            if apology is not None:
                self._add_message(row.conversation_id, Direction.OUT, apology.role, apology.reply.text,
                                  apology.reply.to_dict(), apology.language, MessageStatus.PENDING,
                                  reply_to=message_id, out_of_turn=detached)

    def transcript(self, bot: str, sender: str) -> list[TranscriptEntry]:
        """All messages of ``sender`` with ``bot`` on every channel, oldest first."""
        with self.lock:
            return [message.entry(self.conversations[message.conversation_id].channel)
                    for message in self._messages_where(bot=bot, sender=sender)]

    # --- FollowerStore and ResidentUpdates ----------------------------------------------------

    def set_active(self, bot: str, channel: str, sender: str, active: bool) -> None:
        """Mark a resident as following (True) or gone (False) on a channel."""
        with self.lock:
            self.conversation(bot, channel, sender).active = active

    def is_active(self, bot: str, channel: str, sender: str) -> bool:
        """Whether messages may still be pushed to the resident (unknown residents are active)."""
        with self.lock:
            row = self.find_conversation(bot, channel, sender)
            return True if row is None else row.active

    def updates(self, bot: str, channel: str, sender: str, after: int) -> list[TranscriptEntry]:
        """Out-of-turn messages for the resident with id > ``after``; pending ones become sent."""
        with self.lock:
            rows = [m for m in self._messages_where(bot=bot, sender=sender, channel=channel)
                    if m.out_of_turn and m.id > after]
            for row in rows:
                if row.status == MessageStatus.PENDING:
                    row.status = MessageStatus.SENT
            return [row.entry(channel, status=MessageStatus.SENT) for row in rows]

    # --- what tests and the other memory stores use ---------------------------------------------

    def conversation(self, bot: str, channel: str, sender: str) -> ConversationRow:
        """The conversation of ``sender`` with ``bot`` on ``channel``, created when new."""
        with self.lock:
            found = self.find_conversation(bot, channel, sender)
            if found is None:
                found = ConversationRow(uuid.uuid4().hex, bot, channel, sender)
                self.conversations[found.id] = found
            return found

    def find_conversation(self, bot: str, channel: str, sender: str) -> ConversationRow | None:
        """The conversation, or None when the resident never wrote."""
        with self.lock:
            return next((c for c in self.conversations.values()
                         if (c.bot, c.channel, c.sender) == (bot, channel, sender)), None)

    def add_out_of_turn(self, conversation_id: str, reply: Reply, *, role: Role, language: str,
                        user_id: int | None = None, extra: Mapping[str, Any] | None = None) -> int:
        """Store a message for the resident written outside a turn (``MessageLog.add_out_of_turn``)."""
        with self.lock:
            return self._add_message(conversation_id, Direction.OUT, role, reply.text,
                                     {**reply.to_dict(), **dict(extra or {})}, language, MessageStatus.PENDING,
                                     out_of_turn=True, user_id=user_id).id

    def touch(self, conversation_id: str) -> None:
        """Another writer (a server, the staff desk) changed the state: a turn running now must decide again."""
        with self.lock:
            row = self.conversations[conversation_id]
            if row.state is None:
                row.state = DialogueState()
            row.state.version += 1

    def handoff_requests(self, conversation_id: str | None = None) -> list[HandoffRow]:
        """The stored handoff requests (of one conversation), oldest first."""
        with self.lock:
            return [h for h in self.handoffs.values() if conversation_id in (None, h.conversation_id)]

    def effect_rows(self, conversation_id: str | None = None) -> list[EffectRow]:
        """The stored effects (of one conversation), oldest first."""
        with self.lock:
            return [e for e in self.effects.values() if conversation_id in (None, e.conversation_id)]

    def has_consent(self, bot: str, channel: str, sender: str, kind: str) -> bool:
        """Whether the latest decision for ``kind`` is a grant (``ConsentStore.has``)."""
        with self.lock:
            decisions = [c.granted for c in self.consents if (c.bot, c.channel, c.sender, c.kind)
                         == (bot, channel, sender, kind)]
            return bool(decisions and decisions[-1])

    # --- helpers ----------------------------------------------------------------------------

    def _messages_of(self, conversation_id: str) -> Iterator[MessageRow]:
        return (m for m in self.messages.values() if m.conversation_id == conversation_id)

    def _messages_where(self, *, bot: str, sender: str, channel: str | None = None) -> list[MessageRow]:
        chosen = {c.id for c in self.conversations.values()
                  if c.bot == bot and c.sender == sender and channel in (None, c.channel)}
        return [m for m in self.messages.values() if m.conversation_id in chosen]

    def _add_message(self, conversation_id: str, direction: Direction, role: Role, text: str,
                     payload: dict[str, Any], language: str | None, status: MessageStatus, **columns: Any,
                     ) -> MessageRow:
        row = MessageRow(self.next_id("messages"), conversation_id, direction, role, text, payload, language,
                         status, self.now(), **columns)
        self.messages[row.id] = row
        return row

    def _add_handoff(self, conversation: ConversationRow, draft: HandoffDraft, now: datetime) -> None:
        handoff_id = self.next_id("handoffs")
        self.handoffs[handoff_id] = HandoffRow(
            handoff_id, conversation.id, draft.kind, draft.reason, draft.language, draft.status, created_at=now,
            last_activity_at=now, ticket=draft.ticket, callback_phone=draft.callback_phone,
            callback_message=draft.callback_message, details=dict(draft.details), updated_at=now)
        if draft.callback_phone:
            # Giving the number after the "may we call you?" question is the consent; kept with the ticket.
            self.consents.append(ConsentRow(conversation.bot, conversation.channel, conversation.sender,
                                            "callback_phone", True))
