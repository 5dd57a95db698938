"""The core's vocabularies: every role, status, mode and event is one of these, never a bare string.

They are ``StrEnum`` so they compare equal to (and are stored as) the strings the database
and the JSON APIs have always used.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who wrote a message or takes part in a conversation; also a console account's role."""

    RESIDENT = "resident"
    BOT = "bot"
    STAFF = "staff"
    INTERPRETER = "interpreter"
    ADMIN = "admin"
    SYSTEM = "system"


#: Console roles that work the queue (interpreters only see rooms they were invited to).
DESK_ROLES = frozenset({Role.STAFF, Role.ADMIN})
#: Roles a console account can have.
ACCOUNT_ROLES = frozenset({Role.STAFF, Role.INTERPRETER, Role.ADMIN})


class Direction(StrEnum):
    """Whether a message came from the resident or went to them."""

    IN = "in"
    OUT = "out"


class MessageStatus(StrEnum):
    """Inbound: received → processed | failed. Outbound: pending → sending → sent | failed."""

    RECEIVED = "received"
    PROCESSED = "processed"
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class HandoffKind(StrEnum):
    """What the resident asked for."""

    STAFF = "staff"
    INTERPRETER = "interpreter"


class HandoffReason(StrEnum):
    """Why a handoff was requested."""

    ASKED = "asked"
    MISSES = "misses"
    KIOSK = "kiosk"
    SENSITIVE = "sensitive"


class HandoffStatus(StrEnum):
    """queued → active → resolved; callback is an out-of-hours ticket; cancelled / timed_out end it too."""

    QUEUED = "queued"
    ACTIVE = "active"
    CALLBACK = "callback"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


#: Handoffs a person is (or will be) working on.
OPEN_HANDOFF_STATUSES = frozenset({HandoffStatus.QUEUED, HandoffStatus.ACTIVE})


class ConversationMode(StrEnum):
    """Who answers the resident: the bot, or a person (the bot stays silent)."""

    BOT = "bot"
    HANDOFF = "handoff"


class LanguageSource(StrEnum):
    """How the conversation's language was set: an explicit choice sticks, a detected one follows the resident."""

    EXPLICIT = "explicit"
    DETECTED = "detected"


class Lifecycle(StrEnum):
    """A resident starting or ending their relation with a bot on a channel."""

    FOLLOW = "follow"
    UNFOLLOW = "unfollow"


class EffectStatus(StrEnum):
    """An effect's life: pending → running → done | failed (running again after a crashed worker's lease)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class NotificationKind(StrEnum):
    """What a notification is about; quiet hours hold back every kind but disaster alerts and queue calls."""

    NOTICE = "notice"
    REMINDER = "reminder"
    DISASTER = "disaster"
    #: "Your number is near / called" at a ward-office window: the resident is waiting for it right now.
    QUEUE = "queue"

    @property
    def waits_for_quiet_hours(self) -> bool:
        """Whether deliveries of this kind wait until the configured quiet hours end."""
        return self not in (NotificationKind.DISASTER, NotificationKind.QUEUE)


class DeliveryStatus(StrEnum):
    """One recipient of a notification: queued → (sending, in a bulk batch) → sent | skipped (with a reason) |
    failed (the dead letters)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class NotificationStatus(StrEnum):
    """A notification as a whole: queued (nothing delivered yet) → sending → done (every recipient settled)."""

    QUEUED = "queued"
    SENDING = "sending"
    DONE = "done"


class FieldKind(StrEnum):
    """What an input of a secure form page is (chosen by the slot's name: ``bot.secure_forms.field_kind``)."""

    TEXT = "text"
    #: Masked while typing (a PIN, a password).
    PASSWORD = "password"
    #: An e-mail address (the phone shows its e-mail keyboard).
    EMAIL = "email"
    #: A consent checkbox the resident must tick; its value is ``yes``.
    CONSENT = "consent"
