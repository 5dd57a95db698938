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
from bot.enums import ConversationMode, HandoffKind, HandoffReason, HandoffStatus
from bot.form_engine import Extracted, Form, Slot, form_values, start_form
from bot.payloads import make_payload, parse_payload
from bot.records import HandoffChange, HandoffDraft
from bot.turn import Turn
from bot.types import Button
from knowledge.profile import CityProfile

#: The out-of-hours form's name (``active_form`` while it waits for an answer).
CALLBACK_FORM = "handoff_callback"
#: The out-of-hours form's ``channel`` values: a call back or a message.
_BY_PHONE, _BY_MESSAGE = "phone", "message"
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


def request_handoff(turn: Turn, kind: HandoffKind, reason: HandoffReason | str | None = None) -> None:
    """Queue the resident for staff in business hours; otherwise start the out-of-hours form."""
    desk = turn.services.desk
    if reason is None:
        reason = HandoffReason.MISSES if turn.state.misses else \
            str(turn.message.metadata.get("handoff_reason", HandoffReason.ASKED))
    turn.state.misses = 0
    details = _location(turn.message.metadata)
    if desk is None or desk.is_open(turn.bot):
        turn.handoff = HandoffDraft(kind=kind, reason=reason, language=turn.language, details=details)
        turn.state.mode = ConversationMode.HANDOFF
        minutes = desk.expected_minutes(turn.bot) if desk is not None else 5
        key = "handoff.queued_interpreter" if kind == HandoffKind.INTERPRETER else "handoff.queued"
        turn.say(key, team=turn.text(f"team.{turn.bot}"), minutes=minutes, buttons=[_back_button(turn)])
        return
    start_form(turn, HANDOFF_CALLBACK, {"kind": str(kind), "reason": str(reason), **details})


def handoff_turn(turn: Turn) -> bool:
    """A message while staff hold (or are about to hold) the conversation; False: the bot answers it."""
    desk = turn.services.desk
    view = desk.current(turn.conversation_id) if desk is not None else None
    if desk is None or view is None or view.status == HandoffStatus.CALLBACK:
        turn.state.mode = ConversationMode.BOT
        return False
    payload = parse_payload(turn.message.text)
    turn.topic = None
    if payload is not None and payload.intent in ("back_to_bot", "restart"):
        if view.status == HandoffStatus.QUEUED or desk.staff_idle(view):
            status = HandoffStatus.CANCELLED if view.status == HandoffStatus.QUEUED else HandoffStatus.TIMED_OUT
            turn.handoff_change = HandoffChange(view.id, status=status)
            turn.state.mode = ConversationMode.BOT
            turn.say("handoff.back_to_bot" if status == HandoffStatus.CANCELLED else "handoff.timed_out",
                     buttons=turn.menu_buttons())
        else:
            turn.say("handoff.back_to_bot_later")
        return True
    if view.status == HandoffStatus.QUEUED:
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


# --- the out-of-hours form: "phone or message?" → phone → confirm, or → message -------------


def _callback_channel(turn: Turn) -> Extracted:
    """A "phone" / "message" button; a phone number typed right away goes straight to the confirmation."""
    payload = parse_payload(turn.message.text)
    if payload is not None:
        choice = payload.entities.get("callback") if payload.intent == "inform" else None
        return choice if choice in (_BY_PHONE, _BY_MESSAGE) else None
    phone = extract_phone(turn.message.text)
    return {"channel": _BY_PHONE, "phone": phone} if phone is not None else None


def _callback_phone(turn: Turn) -> Extracted:
    return extract_phone(turn.message.text) if parse_payload(turn.message.text) is None else None


def _callback_consent(turn: Turn) -> Extracted:
    payload = parse_payload(turn.message.text)
    return "yes" if payload is not None and payload.entities.get("consent") == "yes" else None


def _callback_message(turn: Turn) -> Extracted:
    text = turn.message.text.strip()
    return text if text and parse_payload(text) is None else None


def _channel_choices(turn: Turn) -> tuple[Button, ...]:
    return (
        turn.button("button.leave_phone", make_payload("inform", callback=_BY_PHONE)),
        turn.button("button.leave_message", make_payload("inform", callback=_BY_MESSAGE)),
        turn.button("button.no_thanks", make_payload("handoff_declined")),
    )


def _consent_choices(turn: Turn) -> tuple[Button, ...]:
    return (
        turn.button("button.call_me", make_payload("inform", consent="yes")),
        turn.button("button.no_thanks", make_payload("handoff_declined")),
    )


def _desk_hours(turn: Turn) -> Mapping[str, object]:
    desk = turn.services.desk
    return {"hours": desk.hours_text(turn.bot, turn.language) if desk is not None else ""}


def _phone_param(turn: Turn) -> Mapping[str, object]:
    return {"phone": form_values(turn).get("phone", "")}


def _ticket(turn: Turn, values: Mapping[str, str]) -> None:
    """Store the out-of-hours request (status ``callback``) with a ticket number the resident can quote."""
    by_phone = values.get("channel") == _BY_PHONE
    ticket = new_ticket(turn.bot)
    turn.handoff = HandoffDraft(
        kind=HandoffKind(values.get("kind", HandoffKind.STAFF)), reason=values.get("reason", HandoffReason.ASKED),
        language=turn.language, status=HandoffStatus.CALLBACK, ticket=ticket,
        callback_phone=values.get("phone") if by_phone else None,
        callback_message=None if by_phone else values.get("message"), details=_location(values))
    turn.say("handoff.ticket_callback" if by_phone else "handoff.ticket_message", ticket=ticket,
             buttons=turn.menu_buttons())


#: Out of hours: a call back (phone, then consent) or a message, answered on the next working day.
#: Started by :func:`request_handoff` with the values ``kind``, ``reason`` and (from a kiosk) ``kiosk_location``.
HANDOFF_CALLBACK = Form(
    name=CALLBACK_FORM,
    slots=(
        Slot(name="channel", prompt_key="handoff.out_of_hours", extract=_callback_channel,
             choices=_channel_choices, params=_desk_hours),
        Slot(name="phone", prompt_key="handoff.ask_phone", invalid_key="handoff.invalid_phone",
             extract=_callback_phone, when=lambda values: values.get("channel") == _BY_PHONE),
        Slot(name="consent", prompt_key="handoff.confirm_callback", extract=_callback_consent,
             choices=_consent_choices, params=_phone_param, when=lambda values: values.get("channel") == _BY_PHONE),
        Slot(name="message", prompt_key="handoff.ask_message", extract=_callback_message, free_text=True,
             when=lambda values: values.get("channel") == _BY_MESSAGE),
    ),
    submit=_ticket,
    # Only a change of language interrupts; any other message is read as an answer (the desk is closed).
    interrupted_by=frozenset({"change_language"}),
    cancelled_by_other_topics=False,
    cancel_intents=frozenset({"handoff_declined", "restart", "back_to_bot"}),
    cancel_key="handoff.callback_cancelled",
    retry_buttons=Turn.menu_buttons,
)


def _location(source: Mapping[str, object]) -> dict[str, str]:
    """The kiosk's location, if the request came from one (kept with the handoff for staff)."""
    return {"kiosk_location": str(source["kiosk_location"])} if "kiosk_location" in source else {}


def _back_button(turn: Turn) -> Button:
    return turn.button("button.back_to_bot", make_payload("back_to_bot"))
