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
from typing import Any

from bot.desk.accounts import Accounts, StaffUser
from bot.desk.store import DeskStore, HandoffView, Participant, StoredMessage
from bot.payloads import make_payload
from bot.types import Button, DeskError, Reply
from translations.catalog import Catalog
from translations.languages import ENDONYMS, base_language
from translations.pipeline import TranslationPipeline

CANNED_REPLIES = ("hello", "one_moment", "bring_residence_card", "visit_window", "anything_else", "closing")
MAX_TEXT_CHARS = 5000
MAX_LABELS = 10
#: Detects the language of a staff or interpreter message among the given candidates.
LanguageDetector = Callable[[str, Sequence[str]], str]


@dataclass
class StaffDesk:
    """Queue, rooms and translation (``bot.protocols.HandoffDesk`` and ``HandoffRoom``)."""

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

    def queue(self, user: StaffUser, *, include_closed: bool = False) -> list[dict[str, Any]]:
        """Open handoffs (staff, admin) or the rooms an interpreter was invited to."""
        participant = user.username if user.role == "interpreter" else None
        views = self.store.handoffs(open_only=not include_closed, participant=participant)
        return [self.describe(view) for view in views]

    def claim(self, user: StaffUser, handoff_id: int, assignee: str | None = None) -> dict[str, Any]:
        """Take a handoff (or, for staff and admins, assign it to ``assignee``)."""
        self._require(user, "staff", "admin")
        view = self._open(handoff_id)
        target = user
        if assignee and assignee != user.username:
            found = self.accounts.user(assignee)
            if found is None or found.role == "interpreter":
                raise DeskError(404, "unknown_user", f"no member of staff called {assignee!r}")
            target = found
        holder = view.assigned_to.username if view.assigned_to is not None else None
        take_over = user.role == "admin" or holder == user.username
        person = Participant("staff", target.username, target.display_name, target.language)
        if not self.store.claim(handoff_id, target.id, participant=person, take_over=take_over):
            raise DeskError(409, "already_claimed", "another member of staff has this conversation")
        if view.status != "active" or (view.assigned_to and view.assigned_to.username != target.username):
            self._notice(view, "handoff.staff_joined", name=target.display_name)
        return self.describe(self._get(handoff_id))

    def invite(self, user: StaffUser, handoff_id: int, role: str, username: str) -> dict[str, Any]:
        """Bring an interpreter (or another member of staff) into the room."""
        self._require(user, "staff", "admin")
        view = self._open(handoff_id)
        if role not in ("interpreter", "staff"):
            raise DeskError(422, "invalid_role", "role must be interpreter or staff")
        found = self.accounts.user(username)
        if found is None:
            raise DeskError(404, "unknown_user", f"no user called {username!r}")
        if role == "interpreter" and found.role != "interpreter":
            raise DeskError(422, "not_an_interpreter", f"{username!r} is not an interpreter")
        self.store.add_participant(handoff_id, Participant(role, found.username, found.display_name, found.language))
        self._notice(view, "handoff.interpreter_joined" if role == "interpreter" else "handoff.staff_joined",
                     name=found.display_name)
        return self.describe(self._get(handoff_id))

    def resolve(self, user: StaffUser, handoff_id: int) -> dict[str, Any]:
        """End the handoff: the bot takes over and asks the resident for a 1-5 rating."""
        self._require(user, "staff", "admin")
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
        self.store.push(view.conversation_id, question, role="bot", language=language,
                        extra={"catalog_key": "handoff.satisfaction"})
        return self.describe(self._get(handoff_id))

    def fingerprint(self, user: StaffUser) -> str:
        """Changes when anything the console shows changes."""
        return self.store.fingerprint()

    # --- a room -------------------------------------------------------------------------

    def room(self, user: StaffUser, handoff_id: int) -> dict[str, Any]:
        """The handoff, its whole conversation in ``user``'s language, and the notes."""
        view = self._visible(user, handoff_id)
        messages = [self.render(message, user.language) for message in self.store.messages(view.conversation_id)]
        notes = self.store.notes(handoff_id) if user.role != "interpreter" else []
        return {"handoff": self.describe(view), "messages": messages, "notes": notes}

    def post(self, user: StaffUser, handoff_id: int, text: str, *, language: str | None = None,
             canned: str | None = None) -> dict[str, Any]:
        """Send a message to the resident (translated into their language, original attached)."""
        view = self._visible(user, handoff_id)
        if view.status not in ("active", "queued", "callback"):
            raise DeskError(409, "not_open", "this conversation is closed")
        if user.role != "interpreter" and (view.assigned_to is None or view.assigned_to.username != user.username) \
                and user.role != "admin":
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
        extra = {"speaker": user.role if user.role == "interpreter" else "staff", "author": user.display_name,
                 "source_text": original, "original_language": written_in, "canned": canned}
        role = "interpreter" if user.role == "interpreter" else "staff"
        message_id = self.store.push(view.conversation_id, reply, role=role, language=resident, user_id=user.id,
                                     extra=extra, handoff_id=handoff_id)
        if note_needed:
            self._notice(view, "handoff.not_translated")
        stored = next(m for m in self.store.messages(view.conversation_id, after=message_id - 1) if m.id == message_id)
        return self.render(stored, user.language)

    def note(self, user: StaffUser, handoff_id: int, text: str) -> dict[str, Any]:
        """Add a private note."""
        self._require(user, "staff", "admin")
        self._get(handoff_id)
        if not text.strip() or len(text) > MAX_TEXT_CHARS:
            raise DeskError(422, "invalid_text", f"write 1-{MAX_TEXT_CHARS} characters")
        self.store.add_note(handoff_id, user.id, text.strip())
        return {"notes": self.store.notes(handoff_id)}

    def label(self, user: StaffUser, handoff_id: int, labels: Sequence[str]) -> dict[str, Any]:
        """Replace the labels (trimmed, de-duplicated)."""
        self._require(user, "staff", "admin")
        self._get(handoff_id)
        cleaned = list(dict.fromkeys(label.strip()[:32] for label in labels if label.strip()))
        if len(cleaned) > MAX_LABELS:
            raise DeskError(422, "too_many_labels", f"at most {MAX_LABELS} labels")
        self.store.set_labels(handoff_id, cleaned)
        return self.describe(self._get(handoff_id))

    def transcript(self, user: StaffUser, handoff_id: int) -> str:
        """The conversation as plain text: each message in the reader's language with the original."""
        room = self.room(user, handoff_id)
        view = room["handoff"]
        lines = [f"# {view['bot']} / {view['channel']} / #{view['id']} ({view['status']})",
                 f"# {view['created_at']}", ""]
        for message in room["messages"]:
            who = message["author"] or message["role"]
            lines.append(f"[{message['created_at']}] {who}: {message['text']}")
            if message["original"] != message["text"]:
                lines.append(f"    ({message['original_language']}) {message['original']}")
        return "\n".join(lines) + "\n"

    # --- lists --------------------------------------------------------------------------

    def canned(self, language: str) -> list[dict[str, str]]:
        """Canned replies titled in ``language``."""
        return [{"id": key, "text": self.catalog.text(f"canned.{key}", language)} for key in CANNED_REPLIES]

    def interpreters(self, language: str | None = None) -> list[dict[str, Any]]:
        """Interpreters, those for ``language`` first."""
        found = self.accounts.users("interpreter")
        found.sort(key=lambda u: (language not in u.interprets and language != u.language, u.username))
        return [u.to_dict() for u in found]

    # --- rendering ----------------------------------------------------------------------

    def describe(self, view: HandoffView) -> dict[str, Any]:
        """A handoff as the console lists it."""
        now = self.now()
        waiting = ((view.claimed_at or view.resolved_at or now) - view.created_at).total_seconds()
        return {
            "id": view.id, "bot": view.bot, "bot_name": self.catalog.text(f"bot.{view.bot}.name", "ja"),
            "channel": view.channel, "sender": view.sender, "status": view.status, "kind": view.kind,
            "reason": view.reason, "language": view.language,
            "language_name": ENDONYMS.get(view.language, view.language),
            "waiting_seconds": max(0, int(waiting)), "created_at": view.created_at.isoformat(),
            "claimed_at": view.claimed_at.isoformat() if view.claimed_at else None,
            "assigned_to": None if view.assigned_to is None else {
                "username": view.assigned_to.username, "display_name": view.assigned_to.display_name},
            "ticket": view.ticket, "callback_phone": view.callback_phone, "callback_message": view.callback_message,
            "labels": list(view.labels), "satisfaction": view.satisfaction,
            "location": view.details.get("kiosk_location"),
            "participants": [{"role": p.role, "username": p.username, "display_name": p.display_name,
                              "language": p.language} for p in view.participants],
        }

    def render(self, message: StoredMessage, reader: str) -> dict[str, Any]:
        """``message`` for a reader of ``reader``, with its original."""
        payload = message.payload
        original = str(payload.get("source_text") or message.text) if message.role in ("staff", "interpreter") \
            else message.text
        source = str(payload.get("original_language") or message.language or "ja")
        translation = self._translation(message, original, source, reader)
        return {
            "id": message.id, "role": message.role, "direction": message.direction, "author": message.author,
            "text": translation["text"], "language": translation["language"],
            "machine_translated": translation["machine_translated"], "translation_available": translation["available"],
            "original": original, "original_language": source, "buttons": payload.get("buttons", []),
            "created_at": message.created_at.isoformat(),
            # What the resident's channel showed, for staff's and interpreters' own messages.
            "sent_text": message.text if message.role in ("staff", "interpreter") else None,
            "sent_language": message.language if message.role in ("staff", "interpreter") else None,
        }

    def _translation(self, message: StoredMessage, original: str, source: str, reader: str) -> dict[str, Any]:
        key = message.payload.get("catalog_key")
        if isinstance(key, str) and self.catalog.has(key):
            params = message.payload.get("params") or {}
            return {"text": self.catalog.text(key, reader, **params), "language": reader,
                    "machine_translated": False, "available": True}
        origin = message.payload.get("source")
        if isinstance(origin, str) and origin.startswith("kb:") and self.curated is not None:
            bot, _, topic = origin[3:].partition("/")
            text = self.curated(bot, topic, reader)
            if text is not None:
                return {"text": text, "language": reader, "machine_translated": False, "available": True}
        canned = message.payload.get("canned")
        if isinstance(canned, str) and canned in CANNED_REPLIES:
            return {"text": self.catalog.text(f"canned.{canned}", reader), "language": reader,
                    "machine_translated": False, "available": True}
        if base_language(source) == base_language(reader):
            return {"text": original, "language": source, "machine_translated": False, "available": True}
        cached = message.payload.get("translations", {}).get(reader)
        if isinstance(cached, dict):
            return cached
        result = self.pipeline.translate(original, source, reader, remember=message.role == "bot")
        translation = {"text": result.text, "language": result.language,
                       "machine_translated": result.machine_translated, "available": result.available}
        if result.available:
            self.store.cache_translation(message.id, reader, translation)
        return translation

    # --- helpers ------------------------------------------------------------------------

    def _notice(self, view: HandoffView, key: str, **params: str) -> None:
        reply = Reply(text=self.catalog.text(key, view.language, **params))
        self.store.push(view.conversation_id, reply, role="system", language=view.language,
                        extra={"catalog_key": key, "params": params})

    def _written_in(self, user: StaffUser, text: str, language: str | None, resident: str) -> str:
        speaks = (user.language, *user.interprets)
        if language is not None:
            if language not in self.languages:
                raise DeskError(422, "unsupported_language", f"unsupported language {language!r}")
            return language
        if user.role == "interpreter" and self.detect is not None:
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
        if view.status not in ("queued", "active", "callback"):
            raise DeskError(409, "not_open", "this conversation is closed")
        return view

    def _visible(self, user: StaffUser, handoff_id: int) -> HandoffView:
        view = self._get(handoff_id)
        if user.role == "interpreter" and all(p.username != user.username for p in view.participants):
            raise DeskError(403, "not_invited", "interpreters see only the conversations they were invited to")
        return view

    @staticmethod
    def _require(user: StaffUser, *roles: str) -> None:
        if user.role not in roles:
            raise DeskError(403, "forbidden", f"this needs the role {' or '.join(roles)}")
