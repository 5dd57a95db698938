"""The resident's side of a handoff: asking for staff, the out-of-hours ticket, the wait, the rating.

Skills here change only the turn (state, replies, a handoff draft or change); the engine
commits everything in one transaction. While a human holds the conversation the bot says
nothing except short notices; the resident's "back to the guide" button cancels a request
still in the queue, or ends a handoff whose staff went quiet for ``idle_timeout_minutes``.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.config import HandoffConfig
from bot.desk.hours import DeskHours, desk_hours
from bot.desk.store import DeskStore, HandoffView
from bot.payloads import make_payload, parse_payload
from bot.storage.store import HandoffChange, HandoffDraft
from bot.turn import Turn
from bot.types import Button
from knowledge.profile import CityProfile

CALLBACK_FORM = "handoff_callback"
_STEP = "_callback_step"
_ATTEMPTS = "_callback_attempts"
_MAX_ATTEMPTS = 3
_PHONE = re.compile(r"^(?:0\d{9,10}|\+81\d{9,10})$")
_PHONE_CANDIDATE = re.compile(r"[+0-9][0-9()\-\s]{8,18}[0-9]")


@dataclass
class ResidentDesk:
    """What the dialogue needs to know about the desk: hours, the queue, the open handoff."""

    store: DeskStore
    profile: CityProfile
    settings: HandoffConfig
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def hours(self, bot: str) -> DeskHours | None:
        """The desk hours of ``bot`` (None: always open)."""
        return desk_hours(self.profile, bot)

    def is_open(self, bot: str) -> bool:
        """Whether staff answer now."""
        hours = self.hours(bot)
        return self.settings.always_open or hours is None or hours.is_open(self.now())

    def hours_text(self, bot: str, language: str) -> str:
        """The hours as residents read them."""
        hours = self.hours(bot)
        key = hours.hours_key if hours is not None else None
        return self.profile.value(key or "city.call_center.hours", language)

    def expected_minutes(self, bot: str) -> int:
        """A rough wait: the residents ahead times the minutes each takes."""
        return max(1, self.store.queued_count(bot)) * self.settings.minutes_per_resident

    def current(self, conversation_id: str) -> HandoffView | None:
        """The conversation's open handoff."""
        return self.store.current(conversation_id)

    def staff_idle(self, view: HandoffView) -> bool:
        """Whether staff have been silent longer than the timeout."""
        return self.now() - view.last_activity_at >= timedelta(minutes=self.settings.idle_timeout_minutes)


def request_handoff(turn: Turn, kind: str, reason: str | None = None) -> None:
    """Queue the resident for staff in business hours; otherwise offer a call back or a message."""
    desk = turn.services.desk
    reason = reason or ("misses" if turn.state.misses else str(turn.message.metadata.get("handoff_reason", "asked")))
    turn.state.misses = 0
    details = _location(turn.message.metadata)
    if desk is None or desk.is_open(turn.bot):
        turn.handoff = HandoffDraft(kind=kind, reason=reason, language=turn.language, details=details)
        turn.state.mode = "handoff"
        minutes = desk.expected_minutes(turn.bot) if desk is not None else 5
        key = "handoff.queued_interpreter" if kind == "interpreter" else "handoff.queued"
        turn.say(key, team=turn.text(f"team.{turn.bot}"), minutes=minutes, buttons=[_back_button(turn)])
        return
    turn.state.active_form = CALLBACK_FORM
    turn.state.slots = {_STEP: "choose", "kind": kind, "reason": reason, **details}
    _offer_callback(turn, desk.hours_text(turn.bot, turn.language))


def continue_callback(turn: Turn) -> None:
    """One step of the out-of-hours form: choose → phone → confirm, or choose → message."""
    slots = turn.state.slots
    step = str(slots.get(_STEP, "choose"))
    payload = parse_payload(turn.message.text)
    intent = payload.intent if payload else None
    turn.topic = CALLBACK_FORM
    if intent in ("handoff_declined", "restart", "back_to_bot"):
        _end_callback(turn)
        turn.say("handoff.callback_cancelled", buttons=turn.menu_buttons())
        return
    choice = payload.entities.get("callback") if payload and intent == "inform" else None
    if step == "choose" and choice == "message":
        slots[_STEP] = "message"
        turn.say("handoff.ask_message")
        return
    if step == "choose" and choice == "phone":
        slots[_STEP] = "phone"
        turn.say("handoff.ask_phone")
        return
    if step in ("choose", "phone") and payload is None:
        phone = extract_phone(turn.message.text)
        if phone is not None:
            slots.update({_STEP: "confirm", "phone": phone})
            turn.say("handoff.confirm_callback", phone=phone, buttons=[
                turn.button("button.call_me", make_payload("inform", consent="yes")),
                turn.button("button.no_thanks", make_payload("handoff_declined"))])
            return
    if step == "confirm" and payload is not None and payload.entities.get("consent") == "yes":
        _ticket(turn, phone=str(slots["phone"]))
        return
    if step == "message" and payload is None and turn.message.text.strip():
        _ticket(turn, message=turn.message.text.strip())
        return
    attempts = int(slots.get(_ATTEMPTS, 0)) + 1
    if attempts >= _MAX_ATTEMPTS:
        _end_callback(turn)
        turn.say("form.retry_limit", buttons=turn.menu_buttons())
        return
    slots[_ATTEMPTS] = attempts
    if step == "phone":
        turn.say("handoff.invalid_phone")
    elif turn.services.desk is not None:
        _offer_callback(turn, turn.services.desk.hours_text(turn.bot, turn.language))


def handoff_turn(turn: Turn) -> bool:
    """A message while staff hold (or are about to hold) the conversation; False: the bot answers it."""
    desk = turn.services.desk
    view = desk.current(turn.conversation_id) if desk is not None else None
    if desk is None or view is None or view.status == "callback":
        turn.state.mode = "bot"
        return False
    payload = parse_payload(turn.message.text)
    turn.topic = None
    if payload is not None and payload.intent in ("back_to_bot", "restart"):
        if view.status == "queued" or desk.staff_idle(view):
            status = "cancelled" if view.status == "queued" else "timed_out"
            turn.handoff_change = HandoffChange(view.id, status=status)
            turn.state.mode = "bot"
            turn.say("handoff.back_to_bot" if status == "cancelled" else "handoff.timed_out",
                     buttons=turn.menu_buttons())
        else:
            turn.say("handoff.back_to_bot_later")
        return True
    if view.status == "queued":
        turn.say("handoff.still_waiting", position=desk.store.position(view), buttons=[_back_button(turn)])
    return True


def rate(turn: Turn) -> None:
    """The resident's 1-5 rating after a handoff."""
    handoff, score = turn.entity("handoff"), turn.entity("score")
    if handoff and handoff.isdigit() and score in {"1", "2", "3", "4", "5"}:
        turn.handoff_change = HandoffChange(int(handoff), satisfaction=int(score))
    turn.say("handoff.satisfaction_thanks", buttons=turn.menu_buttons())


def extract_phone(text: str) -> str | None:
    """A Japanese phone number in ``text`` (full-width digits too), normalized to digits; None if none."""
    normalized = unicodedata.normalize("NFKC", text)
    for candidate in _PHONE_CANDIDATE.findall(normalized):
        digits = re.sub(r"[()\-\s]", "", candidate)
        if _PHONE.fullmatch(digits):
            return digits
    return None


def new_ticket(bot: str) -> str:
    """A ticket number residents can read out on the phone, e.g. ``C-482913``."""
    return f"{bot[:1].upper()}-{secrets.randbelow(900_000) + 100_000}"


def _ticket(turn: Turn, *, phone: str | None = None, message: str | None = None) -> None:
    slots = turn.state.slots
    ticket = new_ticket(turn.bot)
    details = _location(slots)
    turn.handoff = HandoffDraft(
        kind=str(slots.get("kind", "staff")), reason=str(slots.get("reason", "asked")), language=turn.language,
        status="callback", ticket=ticket, callback_phone=phone, callback_message=message, details=details)
    _end_callback(turn)
    turn.say("handoff.ticket_callback" if phone else "handoff.ticket_message", ticket=ticket,
             buttons=turn.menu_buttons())


def _offer_callback(turn: Turn, hours: str) -> None:
    turn.say("handoff.out_of_hours", hours=hours, buttons=[
        turn.button("button.leave_phone", make_payload("inform", callback="phone")),
        turn.button("button.leave_message", make_payload("inform", callback="message")),
        turn.button("button.no_thanks", make_payload("handoff_declined")),
    ])


def _location(source: Mapping[str, object]) -> dict[str, str]:
    """The kiosk's location, if the request came from one (kept with the handoff for staff)."""
    return {"kiosk_location": str(source["kiosk_location"])} if "kiosk_location" in source else {}


def _end_callback(turn: Turn) -> None:
    turn.state.active_form = None
    turn.state.slots = {}


def _back_button(turn: Turn) -> Button:
    return turn.button("button.back_to_bot", make_payload("back_to_bot"))
