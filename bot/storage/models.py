"""Tables of Yorisoi's state. Every server keeps nothing in memory between requests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the store uses."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base; the Alembic migrations mirror these tables."""


class Conversation(Base):
    """One resident talking to one bot on one channel."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("bot", "channel", "sender", name="uq_conversation_identity"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bot: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    sender: Mapped[str] = mapped_column(String(128))
    #: False after the resident unfollowed (LINE): nothing may be pushed to them.
    active: Mapped[bool] = mapped_column(default=True)
    #: The process answering this conversation's messages now, and until when (turns run one at a time).
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Participant(Base):
    """Someone in a conversation: the resident, the bot, staff or an interpreter."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    user_name: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Message(Base):
    """A message in or out. Inbound ones are stored before anything else happens."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "external_id", name="uq_message_external_id"),
        Index("ix_messages_conversation_created", "conversation_id", "id"),
        Index("ix_messages_received", "status", "direction"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(4))  # "in" | "out"
    role: Mapped[str] = mapped_column(String(16))  # resident | bot | staff | interpreter | system
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    language: Mapped[str | None] = mapped_column(String(16))
    topic: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    # inbound: received -> processed | failed; outbound: pending -> sending -> sent | failed
    status: Mapped[str] = mapped_column(String(16))
    #: Why it failed (inbound), or why the last push attempt failed / the push was given up (outbound).
    error: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(128))
    #: Sent to the resident outside a reply (staff, interpreter, system notices): channels push or poll these.
    out_of_turn: Mapped[bool] = mapped_column(default=False)
    #: The staff or interpreter account that wrote an outbound message.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Outbound: the inbound message this reply answers (a resend gets exactly these back).
    reply_to: Mapped[int | None] = mapped_column(Integer, index=True)
    #: Inbound: how often a turn was started for it (a message that keeps crashing its process fails).
    #: Outbound pushes: how often the outbox claimed it (also the claim's fencing token).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Outbound pushes: when a ``pending`` message may be tried again, or until when a ``sending`` claim
    #: holds (a crashed pusher's claim expires and the message is claimed again); None: due now.
    retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConversationState(Base):
    """What the engine remembers between turns; ``version`` guards concurrent servers."""

    __tablename__ = "conversation_states"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str | None] = mapped_column(String(16))
    language_source: Mapped[str | None] = mapped_column(String(16))  # explicit | detected
    active_form: Mapped[str | None] = mapped_column(String(64))
    slots: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    misses: Mapped[int] = mapped_column(Integer, default=0)
    mode: Mapped[str] = mapped_column(String(16), default="bot")  # bot | handoff
    #: The district the resident named (garbage days, say): broadcasts can be addressed to districts.
    district: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Consent(Base):
    """A resident's consent (or its withdrawal), e.g. to be called back on a phone number."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bot: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    sender: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HandoffRequest(Base):
    """A request for a member of staff or an interpreter to take over a conversation.

    ``status``: queued (waiting for staff) → active (claimed) → resolved; ``callback`` is an
    out-of-hours ticket (a phone number or a message) staff handle on the next working day;
    ``cancelled`` (the resident went back to the bot) and ``timed_out`` end it too.
    """

    __tablename__ = "handoff_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # staff | interpreter
    reason: Mapped[str] = mapped_column(String(32))  # asked | misses | kiosk | sensitive
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    language: Mapped[str | None] = mapped_column(String(16))
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ticket: Mapped[str | None] = mapped_column(String(16))
    callback_phone: Mapped[str | None] = mapped_column(String(32))
    callback_message: Mapped[str | None] = mapped_column(Text)
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Last message of a human in the conversation (the resident's "back to bot" works after a timeout).
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HandoffNote(Base):
    """A private note of staff on a handoff (never shown to the resident)."""

    __tablename__ = "handoff_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoff_requests.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    """A staff-console account: staff, interpreter or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))  # staff | interpreter | admin
    #: The language the user reads and writes in (the console translates everything into it).
    language: Mapped[str] = mapped_column(String(16), default="ja")
    #: Languages an interpreter interprets (besides ``language``).
    interprets: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    #: Wrong passwords in a row; at ``bot.desk.accounts.MAX_FAILED_LOGINS`` the account waits a while.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StaffSession(Base):
    """A console login; only a hash of the token is stored."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TranslationMemoryEntry(Base):
    """A machine translation kept so the same text is never translated twice (key: ``translations.mt.memory_key``)."""

    __tablename__ = "translation_memory"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(200))
    translated_text: Mapped[str] = mapped_column(Text)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EffectRecord(Base):
    """A side effect a turn asked for, performed once after the turn committed (``bot.effects``)."""

    __tablename__ = "effects"
    __table_args__ = (
        UniqueConstraint("inbound_id", "position", name="uq_effect_position"),
        Index("ix_effects_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    inbound_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: A sealed secret the handler receives in clear (deleted once the effect ended).
    secret_id: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SecretRequest(Base):
    """A one-time secure form link (only the token's hash is stored)."""

    __tablename__ = "secret_requests"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    form: Mapped[str] = mapped_column(String(64))
    slots: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SealedSecret(Base):
    """Secret slot values, encrypted with the deployment's key, kept only until their effect ends."""

    __tablename__ = "sealed_secrets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Notification(Base):
    """A message for many residents (``bot.notifications``): what to say, to whom, and how far it got."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bot: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # notice | reminder | disaster
    #: ``{"key", "params"}`` (a catalog text) or ``{"texts": {language: text}}`` (curated per language).
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The audience filter as it was asked for (channels, languages, conversation ids).
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sending | done
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Who sent it: a console username, or ``admin-token``.
    created_by: Mapped[str] = mapped_column(String(64))


class Delivery(Base):
    """One recipient of a notification; never two for the same conversation and notification."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "conversation_id", "route", name="uq_delivery_recipient"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_batch", "batch"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    #: The recipient's language when it was queued; the language it was rendered in once sent.
    language: Mapped[str] = mapped_column(String(16))
    #: How it reaches the resident: their conversation's channel, or ``email``.
    route: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued | sending | sent | failed | skipped
    reason: Mapped[str | None] = mapped_column(String(200))
    #: The bulk call (e.g. a LINE multicast) it belongs to once claimed: a retry resends the same batch.
    batch: Mapped[str | None] = mapped_column(String(36))
    #: The out-of-turn message written for it (the channel pushes it or the client fetches it).
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Not before: quiet hours and retries move it later.
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Contact(Base):
    """Another route a resident agreed to be notified on (e-mail): only stored with their consent.

    ``address`` is sealed (encrypted with the deployment's secret key), never stored or logged in clear;
    ``token`` is the secret of the unsubscribe (and confirmation) link.
    """

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("conversation_id", "route", name="uq_contact_route"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    route: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(Text)
    #: The language messages on this route are written in (the conversation's when it was given).
    language: Mapped[str | None] = mapped_column(String(16))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    consented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: When the resident confirmed the address (the link in the first message); nothing else is sent before.
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
