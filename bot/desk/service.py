"""The staff desk as the console sees it: the queue, rooms, translation for every reader.

Every message is stored once, in the language it was written in; each reader gets it in
their own language with the original attached. Curated text (catalog notices, canned
replies) wins over machine translation; a message's translation for a reader language is
kept with the message, so it is translated once. Residents' and staff's own words are
never put in the shared translation memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.desk.accounts import Accounts
from bot.desk.store import OPEN_STATUSES, ROOM_ROLES, DeskStore, HandoffView, StoredMessage
from bot.desk.views import (
    Assignee,
    CannedReply,
    HandoffSummary,
    NoteView,
    Participant,
    ReaderText,
    RoomMessage,
    RoomView,
    StaffUser,
    UserProfile,
)
from bot.enums import DESK_ROLES, HandoffStatus, Role
from bot.payloads import make_payload
from bot.types import Button, DeskError, Reply
from languages import base_language, endonym
from translations.catalog import Catalog
from translations.pipeline import TranslationPipeline

CANNED_REPLIES = ("hello", "one_moment", "bring_residence_card", "visit_window", "anything_else", "closing")
MAX_TEXT_CHARS = 5000
MAX_LABELS = 10
#: Who can be invited into a room.
INVITABLE_ROLES = (Role.INTERPRETER, Role.STAFF)
#: Detects the language of a staff or interpreter message among the given candidates.
LanguageDetector = Callable[[str, Sequence[str]], str]


@dataclass
class StaffDesk:
    """Queue, rooms and translation (``bot.protocols.HandoffDesk``, ``HandoffRoom`` and ``StaffDirectory``)."""

    store: DeskStore
    accounts: Accounts
    catalog: Catalog
    pipeline: TranslationPipeline
    languages: tuple[str, ...]
    detect: LanguageDetector | None = None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    #: The curated KB answer of (bot, topic) in a language, for the bot's replies in the transcript.
    curated: Callable[[str, str, str], str | None] | None = None

    # --- the queue ----------------------------------------------------------------------

    def queue(self, user: StaffUser, *, include_closed: bool = False) -> list[HandoffSummary]:
        """Open handoffs (staff, admin) or the rooms an interpreter was invited to."""
        participant = user.username if user.role == Role.INTERPRETER else None
        views = self.store.handoffs(open_only=not include_closed, participant=participant)
        return [self.describe(view) for view in views]

    def claim(self, user: StaffUser, handoff_id: int, assignee: str | None = None) -> HandoffSummary:
        """Take a handoff (or, for staff and admins, assign it to ``assignee``)."""
        _require_desk_role(user)
        view = self._open(handoff_id)
        target = user
        if assignee and assignee != user.username:
            found = self.accounts.user(assignee)
            if found is None or found.role == Role.INTERPRETER:
                raise DeskError(404, "unknown_user", f"no member of staff called {assignee!r}")
            target = found
        holder = view.assigned_to.username if view.assigned_to is not None else None
        take_over = user.role == Role.ADMIN or holder == user.username
        person = Participant(Role.STAFF, target.username, target.display_name, target.language)
        if not self.store.claim(handoff_id, target.id, participant=person, take_over=take_over):
            raise DeskError(409, "already_claimed", "another member of staff has this conversation")
        if view.status != HandoffStatus.ACTIVE or (view.assigned_to and view.assigned_to.username != target.username):
            self._notice(view, "handoff.staff_joined", name=target.display_name)
        return self.describe(self._get(handoff_id))

    def invite(self, user: StaffUser, handoff_id: int, role: Role, username: str) -> HandoffSummary:
        """Bring an interpreter (or another member of staff) into the room."""
        _require_desk_role(user)
        view = self._open(handoff_id)
        if role not in INVITABLE_ROLES:
            raise DeskError(422, "invalid_role", "role must be interpreter or staff")
        found = self.accounts.user(username)
        if found is None:
            raise DeskError(404, "unknown_user", f"no user called {username!r}")
        if role == Role.INTERPRETER and found.role != Role.INTERPRETER:
            raise DeskError(422, "not_an_interpreter", f"{username!r} is not an interpreter")
        self.store.add_participant(handoff_id, Participant(role, found.username, found.display_name, found.language))
        self._notice(view, "handoff.interpreter_joined" if role == Role.INTERPRETER else "handoff.staff_joined",
                     name=found.display_name)
        return self.describe(self._get(handoff_id))

    def resolve(self, user: StaffUser, handoff_id: int) -> HandoffSummary:
        """End the handoff: the bot takes over and asks the resident for a 1-5 rating."""
        _require_desk_role(user)
        view = self._open(handoff_id)
        if not self.store.resolve(handoff_id):
            raise DeskError(409, "not_open", "this conversation is already closed")
        self._notice(view, "handoff.resolved")
        language = view.language
        buttons = tuple(
            Button(self.catalog.text("button.rating", language, score=score),
                   make_payload("rate", handoff=str(handoff_id), score=str(score)))
            for score in range(1, 6))
        question = Reply(text=self.catalog.text("handoff.satisfaction", language), buttons=buttons)
        self.store.push(view.conversation_id, question, role=Role.BOT, language=language,
                        extra={"catalog_key": "handoff.satisfaction"})
        return self.describe(self._get(handoff_id))

    def fingerprint(self, user: StaffUser) -> str:
        """Changes when anything the console shows changes."""
        return self.store.fingerprint()

    # --- a room -------------------------------------------------------------------------

    def room(self, user: StaffUser, handoff_id: int) -> RoomView:
        """The handoff, its whole conversation in ``user``'s language, and the notes (not for interpreters)."""
        view = self._visible(user, handoff_id)
        messages = tuple(self.render(message, user.language) for message in self.store.messages(view.conversation_id))
        notes = tuple(self.store.notes(handoff_id)) if user.role != Role.INTERPRETER else ()
        return RoomView(self.describe(view), messages, notes)

    def post(self, user: StaffUser, handoff_id: int, text: str, *, language: str | None = None,
             canned: str | None = None) -> RoomMessage:
        """Send a message to the resident (translated into their language, original attached)."""
        view = self._visible(user, handoff_id)
        if view.status not in OPEN_STATUSES:
            raise DeskError(409, "not_open", "this conversation is closed")
        if user.role != Role.INTERPRETER and (view.assigned_to is None or view.assigned_to.username != user.username) \
                and user.role != Role.ADMIN:
            raise DeskError(403, "not_assigned", "take the conversation before writing to the resident")
        resident = view.language
        if canned is not None:
            if canned not in CANNED_REPLIES:
                raise DeskError(422, "unknown_canned_reply", f"no canned reply {canned!r}")
            written_in = user.language
            original = self.catalog.text(f"canned.{canned}", written_in)
            reply = Reply(text=self.catalog.text(f"canned.{canned}", resident))
            note_needed = False
        else:
            original = text.strip()
            if not original or len(original) > MAX_TEXT_CHARS:
                raise DeskError(422, "invalid_text", f"write 1-{MAX_TEXT_CHARS} characters")
            written_in = self._written_in(user, original, language, resident)
            translated = self.pipeline.translate(original, written_in, resident, remember=False)
            reply = Reply(text=translated.text, machine_translated=translated.machine_translated,
                          original=original if translated.machine_translated else None)
            note_needed = not translated.available
        # The writer's own words stay with the message for the console; the resident's channel shows
        # ``original`` only when the text was machine translated (Reply.to_dict adds it then).
        role = Role.INTERPRETER if user.role == Role.INTERPRETER else Role.STAFF
        extra = {"speaker": role.value, "author": user.display_name, "source_text": original,
                 "original_language": written_in, "canned": canned}
        message_id = self.store.push(view.conversation_id, reply, role=role, language=resident, user_id=user.id,
                                     extra=extra, handoff_id=handoff_id)
        if note_needed:
            self._notice(view, "handoff.not_translated")
        stored = next(m for m in self.store.messages(view.conversation_id, after=message_id - 1) if m.id == message_id)
        return self.render(stored, user.language)

    def note(self, user: StaffUser, handoff_id: int, text: str) -> list[NoteView]:
        """Add a private note; returns all the handoff's notes."""
        _require_desk_role(user)
        self._get(handoff_id)
        if not text.strip() or len(text) > MAX_TEXT_CHARS:
            raise DeskError(422, "invalid_text", f"write 1-{MAX_TEXT_CHARS} characters")
        self.store.add_note(handoff_id, user.id, text.strip())
        return self.store.notes(handoff_id)

    def label(self, user: StaffUser, handoff_id: int, labels: Sequence[str]) -> HandoffSummary:
        """Replace the labels (trimmed, de-duplicated)."""
        _require_desk_role(user)
        self._get(handoff_id)
        cleaned = list(dict.fromkeys(label.strip()[:32] for label in labels if label.strip()))
        if len(cleaned) > MAX_LABELS:
            raise DeskError(422, "too_many_labels", f"at most {MAX_LABELS} labels")
        self.store.set_labels(handoff_id, cleaned)
        return self.describe(self._get(handoff_id))

    def transcript(self, user: StaffUser, handoff_id: int) -> str:
        """The conversation as plain text: each message in the reader's language with the original."""
        room = self.room(user, handoff_id)
        view = room.handoff
        lines = [f"# {view.bot} / {view.channel} / #{view.id} ({view.status})", f"# {view.created_at.isoformat()}", ""]
        for message in room.messages:
            who = message.author or message.role
            lines.append(f"[{message.created_at.isoformat()}] {who}: {message.text}")
            if message.original != message.text:
                lines.append(f"    ({message.original_language}) {message.original}")
        return "\n".join(lines) + "\n"

    # --- lists --------------------------------------------------------------------------

    def canned(self, language: str) -> list[CannedReply]:
        """Canned replies titled in ``language``."""
        return [CannedReply(key, self.catalog.text(f"canned.{key}", language)) for key in CANNED_REPLIES]

    def interpreters(self, language: str | None = None) -> list[UserProfile]:
        """Interpreters, those for ``language`` first."""
        found = self.accounts.users(Role.INTERPRETER)
        found.sort(key=lambda u: (language not in u.interprets and language != u.language, u.username))
        return [u.profile() for u in found]

    # --- rendering ----------------------------------------------------------------------

    def describe(self, view: HandoffView) -> HandoffSummary:
        """A handoff as the console lists it."""
        now = self.now()
        waiting = ((view.claimed_at or view.resolved_at or now) - view.created_at).total_seconds()
        assigned = view.assigned_to
        return HandoffSummary(
            id=view.id, bot=view.bot, bot_name=self.catalog.text(f"bot.{view.bot}.name", "ja"),
            channel=view.channel, sender=view.sender, status=view.status, kind=view.kind, reason=view.reason,
            language=view.language, language_name=endonym(view.language), waiting_seconds=max(0, int(waiting)),
            created_at=view.created_at, claimed_at=view.claimed_at,
            assigned_to=None if assigned is None else Assignee(assigned.username, assigned.display_name),
            ticket=view.ticket, callback_phone=view.callback_phone, callback_message=view.callback_message,
            labels=view.labels, satisfaction=view.satisfaction, location=view.details.get("kiosk_location"),
            participants=view.participants,
        )

    def render(self, message: StoredMessage, reader: str) -> RoomMessage:
        """``message`` for a reader of ``reader``, with its original."""
        payload = message.payload
        written_by_person = message.role in ROOM_ROLES
        original = str(payload.get("source_text") or message.text) if written_by_person else message.text
        source = str(payload.get("original_language") or message.language or "ja")
        translation = self._translation(message, original, source, reader)
        return RoomMessage(
            id=message.id, role=message.role, direction=message.direction, author=message.author,
            text=translation.text, language=translation.language,
            machine_translated=translation.machine_translated, translation_available=translation.available,
            original=original, original_language=source,
            buttons=tuple(Button(str(b["title"]), str(b["payload"])) for b in payload.get("buttons") or ()),
            created_at=message.created_at,
            # What the resident's channel showed, for staff's and interpreters' own messages.
            sent_text=message.text if written_by_person else None,
            sent_language=message.language if written_by_person else None,
        )

    def _translation(self, message: StoredMessage, original: str, source: str, reader: str) -> ReaderText:
        key = message.payload.get("catalog_key")
        if isinstance(key, str) and self.catalog.has(key):
            params = message.payload.get("params") or {}
            return ReaderText(self.catalog.text(key, reader, **params), reader, False, True)
        origin = message.payload.get("source")
        if isinstance(origin, str) and origin.startswith("kb:") and self.curated is not None:
            bot, _, topic = origin[3:].partition("/")
            text = self.curated(bot, topic, reader)
            if text is not None:
                return ReaderText(text, reader, False, True)
        canned = message.payload.get("canned")
        if isinstance(canned, str) and canned in CANNED_REPLIES:
            return ReaderText(self.catalog.text(f"canned.{canned}", reader), reader, False, True)
        if base_language(source) == base_language(reader):
            return ReaderText(original, source, False, True)
        cached = message.payload.get("translations", {}).get(reader)
        if isinstance(cached, dict):
            return ReaderText.from_json(cached)
        result = self.pipeline.translate(original, source, reader, remember=message.role == Role.BOT)
        translation = ReaderText(result.text, result.language, result.machine_translated, result.available)
        if result.available:
            self.store.cache_translation(message.id, reader, translation.to_json())
        return translation

    # --- helpers ------------------------------------------------------------------------

    def _notice(self, view: HandoffView, key: str, **params: str) -> None:
        reply = Reply(text=self.catalog.text(key, view.language, **params))
        self.store.push(view.conversation_id, reply, role=Role.SYSTEM, language=view.language,
                        extra={"catalog_key": key, "params": params})

    def _written_in(self, user: StaffUser, text: str, language: str | None, resident: str) -> str:
        speaks = (user.language, *user.interprets)
        if language is not None:
            if language not in self.languages:
                raise DeskError(422, "unsupported_language", f"unsupported language {language!r}")
            return language
        if user.role == Role.INTERPRETER and self.detect is not None:
            candidates = [code for code in dict.fromkeys((*speaks, resident)) if code in self.languages]
            return self.detect(text, candidates)
        return user.language

    def _get(self, handoff_id: int) -> HandoffView:
        view = self.store.handoff(handoff_id)
        if view is None:
            raise DeskError(404, "not_found", f"no handoff {handoff_id}")
        return view

    def _open(self, handoff_id: int) -> HandoffView:
        view = self._get(handoff_id)
        if view.status not in OPEN_STATUSES:
            raise DeskError(409, "not_open", "this conversation is closed")
        return view

    def _visible(self, user: StaffUser, handoff_id: int) -> HandoffView:
        view = self._get(handoff_id)
        if user.role == Role.INTERPRETER and all(p.username != user.username for p in view.participants):
            raise DeskError(403, "not_invited", "interpreters see only the conversations they were invited to")
        return view


def _require_desk_role(user: StaffUser) -> None:
    """403 unless ``user`` works the queue (staff, admin)."""
    if user.role not in DESK_ROLES:
        needed = " or ".join(role for role in Role if role in DESK_ROLES)
        raise DeskError(403, "forbidden", f"this needs the role {needed}")
