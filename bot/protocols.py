"""The small interfaces the engine is wired through (each ≤ 5 methods).

Connectors see only :class:`MessageHandler`; the engine sees the store, the NLU
and the knowledge base through these protocols, so each can be replaced (another
database, a fake in tests, another NLU) without touching the engine.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta
from typing import Any, Protocol, runtime_checkable

from bot.desk.views import (
    CannedReply,
    HandoffSummary,
    LoginSession,
    NoteView,
    RoomMessage,
    RoomView,
    StaffUser,
    UserProfile,
)
from bot.enums import FieldKind, Role
from bot.live import Watch
from bot.records import (
    CompletedTurn,
    DialogueState,
    InboundRecord,
    OutboundDraft,
    PendingTurn,
    TurnOutcome,
)
from bot.types import BulkBatch, InboundMessage, Reply, RouteContact, TranscriptEntry, TurnResult


class MessageHandler(Protocol):
    """What a connector calls for every inbound message."""

    def handle(self, message: InboundMessage) -> TurnResult:
        """Store, understand and answer ``message``."""
        ...

    def transcript(self, bot: str, sender: str) -> list[TranscriptEntry]:
        """The stored messages of ``sender`` with ``bot`` on every channel."""
        ...

    def accept(self, message: InboundMessage) -> Any:
        """Store ``message`` now; returns a record for :meth:`process` (``.duplicate`` is True for redeliveries)."""
        ...

    def process(self, record: Any, message: InboundMessage) -> TurnResult:
        """Answer a message stored by :meth:`accept` (may run later, e.g. in a background task)."""
        ...

    def lifecycle(self, bot: str, channel: str, sender: str, event: str, language: str | None) -> tuple[Reply, ...]:
        """``event`` "follow": activate and return the welcome; "unfollow": deactivate, return ()."""
        ...


@runtime_checkable
class Audience(Protocol):
    """Whether a resident still follows a channel; the engine implements it next to MessageHandler."""

    def is_active(self, bot: str, channel: str, sender: str) -> bool:
        """Whether anything may be pushed to ``sender`` (False after an unfollow)."""
        ...


class Store(Protocol):
    """Conversation persistence used by the engine (``bot.storage.store.SqlStore``; a fake in ``bot.fakes``)."""

    def record_inbound(self, message: InboundMessage) -> InboundRecord:
        """Store a message before processing (a known ``external_id`` is a duplicate)."""
        ...

    def load_state(self, conversation_id: str) -> DialogueState:
        """The conversation's state (a fresh one for a new conversation)."""
        ...

    def complete_turn(self, turn: CompletedTurn) -> None:
        """Write a turn's outcome atomically; raise ``StateConflict`` when the state changed meanwhile."""
        ...

    def fail_turn(self, message_id: int, reason: str, apology: OutboundDraft | None = None,
                  *, detached: bool = False) -> None:
        """Mark an inbound message as failed, keeping it, and store the apology it is answered with."""
        ...

    def transcript(self, bot: str, sender: str) -> list[TranscriptEntry]:
        """All messages of a sender with a bot."""
        ...


class TurnQueue(Protocol):
    """One turn at a time per conversation (``bot.storage.turns.TurnQueueStore``; a fake in ``bot.fakes``)."""

    def acquire(self, conversation_id: str, owner: str, seconds: float) -> bool:
        """Take or renew the conversation's lease; False while another owner holds it."""
        ...

    def release(self, conversation_id: str, owner: str) -> bool:
        """Give the lease up; True when a message is still waiting."""
        ...

    def begin_next(self, conversation_id: str) -> PendingTurn | None:
        """The oldest unanswered message, its attempt counted."""
        ...

    def outcome(self, message_id: int) -> TurnOutcome | None:
        """A stored message's status and the replies stored for it."""
        ...

    def unanswered(self, older_than: timedelta, limit: int = 100) -> list[str]:
        """Conversations with a message left unanswered longer than ``older_than`` and no live lease."""
        ...


class FollowerStore(Protocol):
    """Follow state of residents per channel and what to push to them (the SQL store implements it)."""

    def set_active(self, bot: str, channel: str, sender: str, active: bool) -> None:
        """Record a follow (True) or an unfollow (False)."""
        ...

    def is_active(self, bot: str, channel: str, sender: str) -> bool:
        """The latest follow state (unknown residents are active)."""
        ...

    def updates(self, bot: str, channel: str, sender: str, after: int) -> list[TranscriptEntry]:
        """Out-of-turn messages with id > ``after`` (pending ones become sent)."""
        ...


class Understanding(Protocol):
    """The NLU as the engine uses it (``nlu.pipeline.NluPipeline`` in production)."""

    def parse(
        self, bot: str, text: str, *, preferred_language: str | None = None, today: date | None = None
    ) -> Any:
        """An ``nlu.types.NluResult`` for ``text`` in ``bot``'s topic space."""
        ...


class KnowledgeBase(Protocol):
    """Curated answers (``knowledge.base.CuratedKnowledgeBase`` in production)."""

    def topics(self, bot: str) -> tuple[str, ...]:
        """Topic ids with an entry for ``bot``."""
        ...

    def examples(self, bot: str) -> dict[str, list[str]]:
        """Example questions per topic (NLU training data)."""
        ...

    def title(self, bot: str, topic: str, language: str) -> str | None:
        """Short title of a topic for buttons."""
        ...

    def answer(self, bot: str, topic: str, language: str) -> Any:
        """A ``knowledge.base.Answer`` or None."""
        ...


class TopicSearch(Protocol):
    """Retrieval over a bot's KB, used when the NLU is unsure (``bot.kb_search.KbSearch``)."""

    def search(self, bot: str, text: str, k: int = 3) -> list[tuple[str, float]]:
        """Best topic ids with scores, best first ([] when unavailable)."""
        ...


@runtime_checkable
class ResidentUpdates(Protocol):
    """Messages for a resident written outside a reply (staff, interpreters, notices); the engine implements it."""

    def updates(self, bot: str, channel: str, sender: str, after: int) -> list[TranscriptEntry]:
        """Out-of-turn messages with an id above ``after``, oldest first (marked as sent)."""
        ...


class LiveUpdates(Protocol):
    """Wake-ups for live connections after a commit (``bot.live``: in-process, or Redis pub/sub across processes).

    Writers publish through the database session (``bot.live.mark``); a connection watches a topic and
    asks SQL when woken, and every ``poll_seconds`` anyway (a lost wake-up only delays a message).
    """

    #: The safety poll of a watching connection, in seconds.
    poll_seconds: float

    def publish(self, topics: Collection[str]) -> None:
        """Wake the watchers of ``topics`` in every process; never blocks (called after a commit)."""
        ...

    def resident(self, bot: str, channel: str, sender: str) -> Watch:
        """Watch the messages written for a resident outside a turn (call it in the connection's event loop)."""
        ...

    def desk(self) -> Watch:
        """Watch the staff desk: handoffs, rooms, notes (call it in the connection's event loop)."""
        ...

    def close(self) -> None:
        """Stop background threads and connections (the end of the process or of a test)."""
        ...


class StaffAuth(Protocol):
    """Console logins (``bot.desk.accounts.Accounts``)."""

    def login(self, username: str, password: str) -> LoginSession | None:
        """A new session for the right password, else None."""
        ...

    def user_for_token(self, token: str) -> StaffUser | None:
        """The user of a valid session token, else None."""
        ...

    def logout(self, token: str) -> None:
        """End a session."""
        ...


class HandoffDesk(Protocol):
    """The queue (``bot.desk.service.StaffDesk``); methods raise ``bot.types.DeskError``."""

    def queue(self, user: StaffUser, *, include_closed: bool = False) -> list[HandoffSummary]:
        """Handoffs ``user`` may see."""
        ...

    def claim(self, user: StaffUser, handoff_id: int, assignee: str | None = None) -> HandoffSummary:
        """Take (or assign) a handoff."""
        ...

    def invite(self, user: StaffUser, handoff_id: int, role: Role, username: str) -> HandoffSummary:
        """Bring an interpreter (or another member of staff) into the room."""
        ...

    def resolve(self, user: StaffUser, handoff_id: int) -> HandoffSummary:
        """Close it; the bot takes over and asks for a rating."""
        ...

    def fingerprint(self, user: StaffUser) -> str:
        """Changes when anything in the console changes (live updates)."""
        ...


class HandoffRoom(Protocol):
    """One handoff's conversation (``bot.desk.service.StaffDesk``); methods raise ``bot.types.DeskError``."""

    def room(self, user: StaffUser, handoff_id: int) -> RoomView:
        """The handoff, its messages in ``user``'s language with originals, and notes."""
        ...

    def post(self, user: StaffUser, handoff_id: int, text: str, *, language: str | None = None,
             canned: str | None = None) -> RoomMessage:
        """Send a message to the resident (translated); returns it as ``user`` reads it."""
        ...

    def note(self, user: StaffUser, handoff_id: int, text: str) -> list[NoteView]:
        """Add a private note; returns all the notes."""
        ...

    def label(self, user: StaffUser, handoff_id: int, labels: list[str]) -> HandoffSummary:
        """Replace the labels."""
        ...

    def transcript(self, user: StaffUser, handoff_id: int) -> str:
        """Plain-text transcript for download."""
        ...


class StaffDirectory(Protocol):
    """Lists the console offers (``bot.desk.service.StaffDesk``)."""

    def canned(self, language: str) -> list[CannedReply]:
        """Canned replies titled in ``language``."""
        ...

    def interpreters(self, language: str | None = None) -> list[UserProfile]:
        """Interpreter accounts, those for ``language`` first."""
        ...


class SecretOpener(Protocol):
    """Sealed secret slot values as effect handlers receive them (``bot.secrets.SecretVault``)."""

    def unseal(self, sealed_id: str, conversation_id: str | None = None) -> dict[str, str] | None:
        """The values in clear (only from ``conversation_id`` when given), or None when expired or discarded."""
        ...

    def discard(self, sealed_id: str) -> None:
        """Forget them (after their effect ended)."""
        ...


class SecureField(Protocol):
    """One input of a secure form page."""

    @property
    def name(self) -> str:
        """The slot it fills (the form field's name)."""
        ...

    @property
    def label(self) -> str:
        """Its label in the page's language."""
        ...

    @property
    def password(self) -> bool:
        """Whether the input is masked while typing (a PIN, a password)."""
        ...

    @property
    def kind(self) -> FieldKind:
        """The input: text, password (masked), e-mail, or a consent checkbox that must be ticked."""
        ...


class SecureFormView(Protocol):
    """What the page of a usable secure form link shows."""

    @property
    def language(self) -> str:
        """The conversation's language (the page's ``lang``)."""
        ...

    @property
    def fields(self) -> tuple[SecureField, ...]:
        """The inputs, in the order the form asks for them."""
        ...


class SecureFormService(Protocol):
    """One-time secure forms for secret slots (``bot.secure_forms.SecureForms``); the token is the link's secret."""

    def describe(self, token: str) -> SecureFormView | None:
        """The form behind ``token`` without using it; None when unknown, used or expired."""
        ...

    def submit(self, token: str, values: dict[str, str]) -> bool:
        """Use ``token`` once: seal ``values`` and hand the conversation a ``secret_submitted`` message.

        False when the link is unknown, used or expired; ValueError (the link still works) when a
        field is empty or too long.
        """
        ...


class Broadcasts(Protocol):
    """Notifications to a bot's residents as the admin API sends them (``bot.notifications.BroadcastDesk``)."""

    def send(self, bot: str, audience: dict[str, Any], message: dict[str, Any], *, kind: str, created_by: str,
             dry_run: bool = False) -> dict[str, Any]:
        """Queue ``message`` for the audience (``dry_run``: only count): ``{"id", "recipients", "missing_languages"}``.

        ``audience``: ``channels``, ``languages``, ``conversation_ids``, ``districts`` (lists of strings);
        ``message``: ``{"<language>": "text", ...}`` or ``{"key": "catalog.key", "params": {...}}``.
        Raises ``bot.types.ClientError`` (422) for an unknown bot, language or catalog key, an empty
        message, or a filter that cannot be applied.
        """
        ...

    def status(self, notification_id: int) -> dict[str, Any] | None:
        """``{"status": "queued|sending|done", "sent", "failed", "skipped", "pending", ...}``; None when unknown."""
        ...

    def recent(self, limit: int = 20, bot: str | None = None) -> list[dict[str, Any]]:
        """Up to ``limit`` broadcasts, newest first: ``id``, ``bot``, ``kind``, ``status``, ``created_at``,
        ``created_by``, ``message`` (the key or the languages written, never the texts) and the counts."""
        ...

    def render(self, bot: str, message: dict[str, Any], language: str) -> dict[str, Any]:
        """``message`` as a reader of ``language`` would get it (``text``, ``own_text``, ``machine_translated``,
        ``original``, ``fallback_language`` ...); nothing is stored. ``ClientError`` (422) as ``send``."""
        ...


@runtime_checkable
class BulkSender(Protocol):
    """A channel that sends one message to many of its residents in one call (LINE's multicast).

    Notifications to that channel go out in batches through it instead of one push per resident.
    """

    #: The channel (and delivery route) it sends on, e.g. ``line``.
    name: str
    #: The most recipients one call takes (LINE: 500).
    max_recipients: int

    async def send_many(self, batch: BulkBatch) -> None:
        """Send ``batch``; the same batch sent again (same ``key``) must not reach anyone twice.

        Raises ``bot.channels.TryLater`` when the platform is down, slow or rate limiting, and
        ``bot.types.BulkRefused`` when it refuses the batch for good.
        """
        ...


class ContactBook(Protocol):
    """Addresses residents gave for another route with their consent (``bot.storage.contacts.ContactStore``).

    What a ``ROUTE`` channel (e-mail) needs: the addresses of a batch's residents, and the resident's own
    confirmation and unsubscribe links (``token``: the links' secret).
    """

    def reachable(self, route: str, conversation_ids: Collection[str]) -> dict[str, RouteContact]:
        """The confirmed, subscribed contacts on ``route`` of these conversations, by conversation id."""
        ...

    def find(self, token: str) -> RouteContact | None:
        """The contact whose links carry ``token`` (in any state); None for an unknown token."""
        ...

    def confirm(self, token: str) -> RouteContact | None:
        """The resident opened the confirmation link: notices may now be sent (not after an unsubscribe)."""
        ...

    def unsubscribe(self, token: str) -> RouteContact | None:
        """Stop sending on the route and delete the address (again: no change); None for an unknown token."""
        ...


@runtime_checkable
class AddressConfirmer(Protocol):
    """A route that asks a resident to confirm a new address before anything else is sent there (e-mail)."""

    #: The route (``email``).
    name: str

    async def send_confirmation(self, contact: RouteContact) -> None:
        """Send the message whose link confirms ``contact``; raises ``bot.channels.TryLater`` when it may work
        later, and ``bot.types.BulkRefused`` when the address is refused for good."""
        ...
