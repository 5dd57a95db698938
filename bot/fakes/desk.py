"""The staff desk and the secure forms over a :class:`~bot.fakes.store.MemoryStore`.

- :class:`MemoryDeskStore` is ``bot.desk.store.DeskStore`` in memory: the resident's side of a
  handoff (:class:`~bot.desk.resident.ResidentDesk`: hours, queue position, the open handoff) and
  the console's queue and rooms read and write it;
- :class:`MemoryAccounts` is the :class:`~bot.protocols.StaffAuth` (``bot.desk.accounts.Accounts``)
  with passwords in clear and no lock-out (a test double);
- :class:`MemoryStaffDesk` is the real ``StaffDesk`` on those two (no machine translation): the
  :class:`~bot.protocols.HandoffDesk`, :class:`~bot.protocols.HandoffRoom` and
  :class:`~bot.protocols.StaffDirectory`. What staff write reaches the resident as out-of-turn messages;
- :class:`MemorySecureForms` is the real ``SecureForms`` (the :class:`~bot.protocols.SecureFormService`)
  on the store's links and a :class:`~bot.fakes.queues.MemoryVault`.

The SQL classes are subclassed so the real services run on them; every public method of
``DeskStore`` and ``Accounts`` is overridden, so no SQL is ever reached.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.desk.accounts import MIN_PASSWORD_CHARS, SESSION_HOURS, AccountError, Accounts
from bot.desk.service import StaffDesk
from bot.desk.store import OPEN_STATUSES, ROOM_ROLES, DeskStore, HandoffView, StoredMessage
from bot.desk.views import LoginSession, NoteView, Participant, StaffUser
from bot.enums import ACCOUNT_ROLES, ConversationMode, HandoffStatus, Role
from bot.fakes.queues import MemorySecureFormStore, MemoryVault
from bot.fakes.rows import HandoffRow, NoteRow, SeatRow, SessionRow, UserRow
from bot.fakes.store import MemoryStore
from bot.protocols import HandoffDesk, HandoffRoom, MessageHandler, SecureFormService, StaffAuth, StaffDirectory
from bot.secure_forms import SecureForms
from bot.types import Reply
from translations.catalog import Catalog
from translations.pipeline import TranslationPipeline


class MemoryDeskStore(DeskStore):
    """The handoff queue, rooms, pushed messages, notes and labels of a :class:`MemoryStore`."""

    def __init__(self, store: MemoryStore) -> None:  # no SQL session factory: every method is overridden
        self.store = store

    # --- reading ------------------------------------------------------------------------

    def handoffs(self, *, open_only: bool = True, participant: str | None = None,
                 handoff_id: int | None = None) -> list[HandoffView]:
        """Handoffs oldest first; ``participant``: only those this username takes part in."""
        with self.store.lock:
            views = [self._describe(row) for row in self.store.handoffs.values()
                     if (not open_only or row.status in OPEN_STATUSES) and handoff_id in (None, row.id)]
        return [v for v in views if participant is None or any(p.username == participant for p in v.participants)]

    def handoff(self, handoff_id: int) -> HandoffView | None:
        """One handoff (open or not)."""
        found = self.handoffs(open_only=False, handoff_id=handoff_id)
        return found[0] if found else None

    def current(self, conversation_id: str) -> HandoffView | None:
        """The conversation's open handoff, if any (the newest)."""
        with self.store.lock:
            rows = [row for row in self.store.handoffs.values()
                    if row.conversation_id == conversation_id and row.status in OPEN_STATUSES]
            return self._describe(rows[-1]) if rows else None

    def position(self, handoff: HandoffView) -> int:
        """1 + the queued handoffs of the same bot that came earlier."""
        with self.store.lock:
            return 1 + sum(1 for row in self._queued(handoff.bot) if row.id < handoff.id)

    def queued_count(self, bot: str) -> int:
        """How many residents wait for ``bot``'s team."""
        with self.store.lock:
            return len(self._queued(bot))

    def messages(self, conversation_id: str, after: int = 0) -> list[StoredMessage]:
        """The conversation's messages (bot transcript included), oldest first."""
        with self.store.lock:
            return [StoredMessage(m.id, m.direction, m.role, m.text, m.language, dict(m.payload),
                                  self._name(m.user_id), m.created_at)
                    for m in self.store.messages.values() if m.conversation_id == conversation_id and m.id > after]

    def notes(self, handoff_id: int) -> list[NoteView]:
        """Private notes, oldest first."""
        with self.store.lock:
            return [NoteView(n.id, self._name(n.user_id), n.text, n.created_at)
                    for n in self.store.notes.values() if n.handoff_id == handoff_id]

    def fingerprint(self) -> str:
        """Changes whenever a handoff or a message changes."""
        with self.store.lock:
            changes = [row.updated_at for row in self.store.handoffs.values() if row.updated_at is not None]
            last_message, last_note = max(self.store.messages, default=0), max(self.store.notes, default=0)
            return f"{last_message}:{max(changes, default=None)}:{last_note}"

    # --- writing ------------------------------------------------------------------------

    def claim(self, handoff_id: int, user_id: int, *, participant: Participant, take_over: bool) -> bool:
        """Assign an open handoff to ``user_id``; False when someone else has it (and not ``take_over``)."""
        with self.store.lock:
            row = self.store.handoffs.get(handoff_id)
            if row is None or row.status not in OPEN_STATUSES or (
                    not take_over and row.assigned_to not in (None, user_id)):
                return False
            now = self.store.now()
            row.status, row.assigned_to, row.updated_at, row.last_activity_at = HandoffStatus.ACTIVE, user_id, now, now
            row.claimed_at = row.claimed_at or now
            self._seat(row.conversation_id, participant)
            # A ticket left out of hours becomes a live conversation: the resident's answers go to staff.
            self._reset_state(row.conversation_id, ConversationMode.HANDOFF)
            return True

    def add_participant(self, handoff_id: int, participant: Participant) -> None:
        """Add an interpreter (or another member of staff) to the room."""
        with self.store.lock:
            row = self.store.handoffs[handoff_id]
            self._seat(row.conversation_id, participant)
            row.updated_at = self.store.now()

    def push(self, conversation_id: str, reply: Reply, *, role: Role, language: str,
             user_id: int | None = None, extra: dict[str, Any] | None = None,
             handoff_id: int | None = None) -> int:
        """Store a message for the resident outside a turn; returns its id (staff's count as activity)."""
        with self.store.lock:
            message_id = self.store.add_out_of_turn(conversation_id, reply, role=role, language=language,
                                                    user_id=user_id, extra=extra)
            row = self.store.handoffs.get(handoff_id) if handoff_id is not None else None
            if row is not None and role in ROOM_ROLES:
                row.last_activity_at = row.updated_at = self.store.now()
            return message_id

    def add_note(self, handoff_id: int, user_id: int, text: str) -> None:
        """A private note."""
        with self.store.lock:
            note_id = self.store.next_id("notes")
            self.store.notes[note_id] = NoteRow(note_id, handoff_id, user_id, text, self.store.now())
            self.store.handoffs[handoff_id].updated_at = self.store.now()

    def set_labels(self, handoff_id: int, labels: list[str]) -> None:
        """Replace the labels."""
        with self.store.lock:
            row = self.store.handoffs[handoff_id]
            row.labels, row.updated_at = list(labels), self.store.now()

    def cache_translation(self, message_id: int, language: str, translation: dict[str, Any]) -> None:
        """Keep a message's translation for a reader language with the message."""
        with self.store.lock:
            row = self.store.messages.get(message_id)
            if row is not None:
                row.payload["translations"] = {**row.payload.get("translations", {}), language: dict(translation)}

    def resolve(self, handoff_id: int, status: HandoffStatus = HandoffStatus.RESOLVED) -> bool:
        """End an open handoff and give the conversation back to the bot (the state's version moves on)."""
        with self.store.lock:
            row = self.store.handoffs.get(handoff_id)
            if row is None or row.status not in OPEN_STATUSES:
                return False
            now = self.store.now()
            row.status, row.resolved_at, row.updated_at = status, now, now
            self._reset_state(row.conversation_id, ConversationMode.BOT)
            for seat in self.store.seats:
                if seat.conversation_id == row.conversation_id and seat.participant.role in ROOM_ROLES \
                        and seat.left_at is None:
                    seat.left_at = now
            return True

    # --- helpers ------------------------------------------------------------------------

    def _queued(self, bot: str) -> list[HandoffRow]:
        return [row for row in self.store.handoffs.values() if row.status == HandoffStatus.QUEUED
                and self.store.conversations[row.conversation_id].bot == bot]

    def _reset_state(self, conversation_id: str, mode: ConversationMode) -> None:
        state = self.store.conversations[conversation_id].state
        if state is not None:  # as the SQL UPDATE: only a stored state changes
            state.mode, state.active_form, state.slots, state.version = mode, None, {}, state.version + 1
            if mode == ConversationMode.BOT:
                state.misses = 0

    def _seat(self, conversation_id: str, participant: Participant) -> None:
        present = any(seat.conversation_id == conversation_id and seat.left_at is None
                      and seat.participant.role == participant.role
                      and seat.participant.username == participant.username for seat in self.store.seats)
        if not present:
            self.store.seats.append(SeatRow(conversation_id, participant))

    def _name(self, user_id: int | None) -> str | None:
        user = self.store.users.get(user_id) if user_id is not None else None
        return None if user is None else user.display_name

    def _describe(self, row: HandoffRow) -> HandoffView:
        conversation = self.store.conversations[row.conversation_id]
        users = {user.username: user for user in self.store.users.values()}
        people = tuple(
            Participant(seat.participant.role, seat.participant.username,
                        users[seat.participant.username].display_name if seat.participant.username in users else None,
                        seat.participant.language)
            for seat in self.store.seats
            if seat.conversation_id == conversation.id and seat.participant.role in ROOM_ROLES and seat.left_at is None)
        assigned = self.store.users.get(row.assigned_to) if row.assigned_to is not None else None
        # The resident may have switched language since asking: everything follows the current one.
        current = conversation.state.language if conversation.state is not None else None
        return HandoffView(
            id=row.id, conversation_id=conversation.id, bot=conversation.bot, channel=conversation.channel,
            sender=conversation.sender, status=row.status, kind=row.kind, reason=row.reason,
            language=current or row.language or "ja", created_at=row.created_at, claimed_at=row.claimed_at,
            resolved_at=row.resolved_at, last_activity_at=row.last_activity_at,
            assigned_to=None if assigned is None else Participant(Role.STAFF, assigned.username,
                                                                  assigned.display_name, assigned.language),
            ticket=row.ticket, callback_phone=row.callback_phone, callback_message=row.callback_message,
            labels=tuple(row.labels), satisfaction=row.satisfaction, details=dict(row.details), participants=people,
        )


class MemoryAccounts(Accounts, StaffAuth):
    """Console accounts and sessions in a :class:`MemoryStore` (passwords in clear, no lock-out: a test double)."""

    def __init__(self, store: MemoryStore, *, languages: tuple[str, ...]) -> None:  # every method is overridden
        self.store = store
        self._languages = languages

    def create_user(
        self, username: str, password: str, role: Role | str, *, display_name: str | None = None,
        language: str = "ja", interprets: tuple[str, ...] = (), replace: bool = False,
    ) -> StaffUser:
        """Create (or with ``replace`` reset) an account; AccountError for bad values or a taken name."""
        if role not in ACCOUNT_ROLES:
            raise AccountError(f"role must be one of {', '.join(sorted(ACCOUNT_ROLES))}")
        if len(password) < MIN_PASSWORD_CHARS:
            raise AccountError(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
        unknown = [code for code in (language, *interprets) if code not in self._languages]
        if unknown:
            raise AccountError(f"unknown language {unknown[0]!r}")
        with self.store.lock:
            existing = self._row(username)
            if existing is not None and not replace:
                raise AccountError(f"the user {username!r} exists already")
            user_id = existing.id if existing is not None else self.store.next_id("users")
            row = UserRow(user_id, username, (display_name or username)[:64], Role(role), language,
                          tuple(interprets), password)
            self.store.users[user_id] = row
            for token in [t for t, s in self.store.staff_sessions.items() if s.user_id == user_id]:
                del self.store.staff_sessions[token]
            return _user(row)

    def login(self, username: str, password: str) -> LoginSession | None:
        """A new session for the right password; None otherwise."""
        with self.store.lock:
            row = self._row(username.strip())
            if row is None or not row.active or row.password != password:
                return None
            token = secrets.token_urlsafe(32)
            expires = self.store.now() + timedelta(hours=SESSION_HOURS)
            self.store.staff_sessions[token] = SessionRow(token, row.id, expires)
            return LoginSession(token, _user(row), expires)

    def user_for_token(self, token: str) -> StaffUser | None:
        """The user of a valid, unexpired session token."""
        with self.store.lock:
            found = self.store.staff_sessions.get(token)
            row = self.store.users.get(found.user_id) if found is not None else None
            if found is None or row is None or found.expires_at <= self.store.now() or not row.active:
                return None
            return _user(row)

    def logout(self, token: str) -> None:
        """End a session (unknown tokens are ignored)."""
        with self.store.lock:
            self.store.staff_sessions.pop(token, None)

    def user(self, username: str) -> StaffUser | None:
        """The active user called ``username``."""
        with self.store.lock:
            row = self._row(username)
            return _user(row) if row is not None and row.active else None

    def users(self, role: Role | None = None) -> list[StaffUser]:
        """Active users, optionally of one role, by username."""
        with self.store.lock:
            rows = sorted(self.store.users.values(), key=lambda row: row.username)
            return [_user(row) for row in rows if row.active and role in (None, row.role)]

    def _row(self, username: str) -> UserRow | None:
        return next((row for row in self.store.users.values() if row.username == username), None)


class MemoryStaffDesk(StaffDesk, HandoffDesk, HandoffRoom, StaffDirectory):
    """The console's desk (queue, rooms, canned replies) on a :class:`MemoryStore`, without machine translation.

    Build it with :meth:`over`; :meth:`member` adds a console account to act as.
    """

    @classmethod
    def over(cls, store: MemoryStore, catalog: Catalog, languages: Sequence[str],
             *, now: Callable[[], datetime] | None = None) -> MemoryStaffDesk:
        """A desk whose queue is ``store``'s handoffs; ``now`` defaults to the store's clock."""
        chosen = tuple(languages)
        return cls(store=MemoryDeskStore(store), accounts=MemoryAccounts(store, languages=chosen), catalog=catalog,
                   pipeline=TranslationPipeline(), languages=chosen, now=now or store.now)

    def member(self, username: str = "staff", role: Role = Role.STAFF, *, language: str = "ja",
               display_name: str | None = None, interprets: tuple[str, ...] = ()) -> StaffUser:
        """A console account (created, or reset, with a throw-away password) to call the desk as."""
        return self.accounts.create_user(username, secrets.token_urlsafe(12), role, display_name=display_name,
                                         language=language, interprets=interprets, replace=True)


class MemorySecureForms(SecureForms, SecureFormService):
    """One-time secure forms on a :class:`MemoryStore`: ``submit`` seals into a :class:`MemoryVault` and
    hands ``handler`` (the engine) the ``secret_submitted`` message, as in production."""

    def __init__(self, store: MemoryStore, handler: MessageHandler, catalog: Callable[[], Catalog],
                 *, vault: MemoryVault | None = None) -> None:
        super().__init__(MemorySecureFormStore(store), vault or MemoryVault(store), handler, catalog)


def _user(row: UserRow) -> StaffUser:
    return StaffUser(row.id, row.username, row.display_name, row.role, row.language, row.interprets)
