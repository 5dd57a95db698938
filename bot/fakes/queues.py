"""The queues over a :class:`~bot.fakes.store.MemoryStore`: turns, effects, secure-form links, sealed secrets.

Each class here follows its SQL counterpart statement by statement, under the store's lock:

- :class:`MemoryTurnQueue` (``bot.storage.turns.TurnQueueStore``): one lease per conversation, the
  oldest ``received`` message next, outcomes collected by ``reply_to``;
- :class:`MemoryEffectStore` (``bot.storage.effects.EffectStore``): a claim moves an effect to
  ``running`` for a lease; finishing it (once, by the claim's holder) stores the follow-ups;
- :class:`MemorySecureFormStore` (``bot.storage.secure_forms.SecureFormStore``): a link is used once;
- :class:`MemoryVault` (``bot.secrets.SecretVault``, the :class:`~bot.protocols.SecretOpener`).

The last three subclass the SQL classes so the real :class:`~bot.effect_worker.EffectWorker` and
:class:`~bot.secure_forms.SecureForms` run on them; every public method is overridden (no SQL is reached).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta

from bot.enums import Direction, EffectStatus, MessageStatus, Role
from bot.fakes.rows import MessageRow, SealedRow
from bot.fakes.store import MemoryStore
from bot.protocols import SecretOpener, TurnQueue
from bot.records import PendingTurn, TurnOutcome
from bot.secrets import SecretVault
from bot.storage.effects import ClaimedEffect, EffectStore
from bot.storage.secure_forms import MAX_TOKEN_CHARS, SecureFormRequest, SecureFormStore
from bot.storage.turns import token_hash
from bot.types import InboundMessage, Reply


class MemoryTurnQueue(TurnQueue):
    """The :class:`~bot.protocols.TurnQueue` over a :class:`MemoryStore`'s conversations and messages."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def acquire(self, conversation_id: str, owner: str, seconds: float) -> bool:
        """Take (or renew) the conversation's lease for ``seconds``; False while another owner holds it."""
        with self.store.lock:
            row = self.store.conversations.get(conversation_id)
            now = self.store.now()
            if row is None or not (row.lease_owner in (None, owner)
                                   or (row.lease_until is not None and row.lease_until < now)):
                return False
            row.lease_owner, row.lease_until = owner, now + timedelta(seconds=seconds)
            return True

    def release(self, conversation_id: str, owner: str) -> bool:
        """Give the lease up (only the owner can); True when a message of the conversation is still waiting."""
        with self.store.lock:
            row = self.store.conversations.get(conversation_id)
            if row is not None and row.lease_owner == owner:
                row.lease_owner, row.lease_until = None, None
            return self._oldest_received(conversation_id) is not None

    def begin_next(self, conversation_id: str) -> PendingTurn | None:
        """The oldest ``received`` message, its attempt counted, rebuilt from what was stored."""
        with self.store.lock:
            row = self._oldest_received(conversation_id)
            if row is None:
                return None
            conversation = self.store.conversations[conversation_id]
            row.attempts += 1
            message = InboundMessage.from_stored(conversation.bot, conversation.channel, conversation.sender,
                                                 row.text, row.language, row.external_id, dict(row.payload))
            return PendingTurn(conversation_id, row.id, message, row.attempts)

    def outcome(self, message_id: int) -> TurnOutcome | None:
        """The status of inbound ``message_id`` and the replies stored for it (None: no such message)."""
        with self.store.lock:
            row = self.store.messages.get(message_id)
            if row is None:
                return None
            replies = [m for m in self.store.messages.values() if m.reply_to == message_id]
            language = next((reply.language for reply in replies if reply.language), row.language)
            return TurnOutcome(status=row.status, replies=tuple(Reply.from_dict(dict(m.payload)) for m in replies),
                               language=language, topic=row.topic, confidence=row.confidence)

    def unanswered(self, older_than: timedelta, limit: int = 100) -> list[str]:
        """Conversations with a message left ``received`` for longer than ``older_than`` and no live lease."""
        with self.store.lock:
            now = self.store.now()
            found: list[str] = []
            for row in self.store.messages.values():
                conversation = self.store.conversations[row.conversation_id]
                free = conversation.lease_owner is None or (
                    conversation.lease_until is not None and conversation.lease_until < now)
                if row.direction == Direction.IN and row.status == MessageStatus.RECEIVED \
                        and row.created_at < now - older_than and free and row.conversation_id not in found:
                    found.append(row.conversation_id)
            return found[:limit]

    def _oldest_received(self, conversation_id: str) -> MessageRow | None:
        return next((m for m in self.store.messages.values() if m.conversation_id == conversation_id
                     and m.direction == Direction.IN and m.status == MessageStatus.RECEIVED), None)


class MemoryEffectStore(EffectStore):
    """The effects table of a :class:`MemoryStore`, for the real :class:`~bot.effect_worker.EffectWorker`."""

    def __init__(self, store: MemoryStore) -> None:  # no SQL session factory: every method is overridden
        self.store = store

    def claim_due(self, limit: int, lease_seconds: float) -> list[ClaimedEffect]:
        """Up to ``limit`` effects that are due, now held by the caller for ``lease_seconds``."""
        with self.store.lock:
            now = self.store.now()
            claimed: list[ClaimedEffect] = []
            for row in self.store.effects.values():
                if len(claimed) >= limit:
                    break
                due = (row.status == EffectStatus.PENDING and row.next_attempt_at <= now) or (
                    row.status == EffectStatus.RUNNING and row.lease_until is not None and row.lease_until < now)
                if not due:
                    continue
                row.status, row.attempts = EffectStatus.RUNNING, row.attempts + 1
                row.lease_until = now + timedelta(seconds=lease_seconds)
                conversation = self.store.conversations[row.conversation_id]
                claimed.append(ClaimedEffect(
                    row.id, row.conversation_id, row.inbound_id, row.position, row.kind, dict(row.params),
                    row.secret_id, row.language, row.attempts, conversation.bot, conversation.channel,
                    conversation.sender))
            return claimed

    def finish(self, effect: ClaimedEffect, replies: Sequence[Reply], status: EffectStatus,
               error: str | None = None) -> bool:
        """Store the follow-up replies and the final status at once; False if the claim was lost."""
        with self.store.lock:
            row = self.store.effects.get(effect.id)
            if row is None or row.status != EffectStatus.RUNNING or row.attempts != effect.attempts:
                return False  # another worker took it over after our lease expired
            row.status, row.error, row.lease_until, row.secret_id = status, error, None, None
            for reply in replies:
                self.store.add_out_of_turn(effect.conversation_id, reply, role=Role.BOT, language=effect.language)
            return True

    def retry_later(self, effect: ClaimedEffect, error: str, delay_seconds: float) -> None:
        """Give the effect back for another attempt after ``delay_seconds``."""
        with self.store.lock:
            row = self.store.effects.get(effect.id)
            if row is not None and row.status == EffectStatus.RUNNING and row.attempts == effect.attempts:
                row.status, row.error, row.lease_until = EffectStatus.PENDING, error[:200], None
                row.next_attempt_at = self.store.now() + timedelta(seconds=delay_seconds)


class MemorySecureFormStore(SecureFormStore):
    """The secure-form links a :class:`MemoryStore` keeps for turns that opened one."""

    def __init__(self, store: MemoryStore) -> None:  # no SQL session factory: every method is overridden
        self.store = store

    def peek(self, token: str) -> SecureFormRequest | None:
        """The form behind ``token`` while it is unused and unexpired, without using it; else None."""
        with self.store.lock:
            return self._request(token, use=False)

    def redeem(self, token: str) -> SecureFormRequest | None:
        """Use ``token`` up: the form behind it exactly once (None when unknown, used or expired)."""
        with self.store.lock:
            return self._request(token, use=True)

    def purge_expired(self) -> int:
        """Delete the links past their expiry (used or not); returns how many were deleted."""
        with self.store.lock:
            now = self.store.now()
            gone = [key for key, row in self.store.secret_requests.items() if row.expires_at <= now]
            for key in gone:
                del self.store.secret_requests[key]
            return len(gone)

    def _request(self, token: str, *, use: bool) -> SecureFormRequest | None:
        if not 0 < len(token) <= MAX_TOKEN_CHARS:
            return None
        row = self.store.secret_requests.get(token_hash(token))
        now = self.store.now()
        if row is None or row.used_at is not None or row.expires_at <= now:
            return None
        if use:
            row.used_at = now
        conversation = self.store.conversations[row.conversation_id]
        return SecureFormRequest(conversation.id, conversation.bot, conversation.channel, conversation.sender,
                                 row.form, row.slots, row.language)


class MemoryVault(SecretVault, SecretOpener):
    """Sealed secrets in a :class:`MemoryStore` (in clear: a test double); the :class:`~bot.protocols.SecretOpener`."""

    def __init__(self, store: MemoryStore) -> None:  # no key, no SQL: every method is overridden
        self.store = store

    def seal(self, conversation_id: str, values: Mapping[str, str], ttl: timedelta) -> str:
        """Keep ``values`` of ``conversation_id`` for ``ttl``; returns the sealed id."""
        if ttl <= timedelta(0):
            raise ValueError("a sealed secret needs a positive lifetime")
        sealed_id = secrets.token_hex(16)
        with self.store.lock:
            self.store.sealed[sealed_id] = SealedRow(conversation_id, {str(k): str(v) for k, v in values.items()},
                                                     self.store.now() + ttl)
        return sealed_id

    def unseal(self, sealed_id: str, conversation_id: str | None = None) -> dict[str, str] | None:
        """The values sealed as ``sealed_id`` (only in ``conversation_id`` when given); None when missing or expired."""
        with self.store.lock:
            row = self.store.sealed.get(sealed_id)
            if row is None or row.expires_at <= self.store.now() or conversation_id not in (None, row.conversation_id):
                return None
            return dict(row.values)

    def discard(self, sealed_id: str) -> None:
        """Forget the values (after their effect ended); unknown ids are ignored."""
        with self.store.lock:
            self.store.sealed.pop(sealed_id, None)

    def purge_expired(self) -> int:
        """Forget every sealed value past its expiry; returns how many."""
        with self.store.lock:
            now = self.store.now()
            gone = [key for key, row in self.store.sealed.items() if row.expires_at <= now]
            for key in gone:
                del self.store.sealed[key]
            return len(gone)
