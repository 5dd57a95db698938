"""The bot's side: ``check_congestion`` answers live, ``subscribe_queue_notice`` sets up the notices.

Both read the live state (a read, safe to repeat when a turn is decided again); the subscription
itself is written by the ``queue.subscribe`` effect after the turn commits (:mod:`services.queue.effects`).

- ``check_congestion``: the office named (NLU ``ward``/``office`` entity, or its name or an alias in
  the message), else the kiosk's own office, else buttons to pick one. Closed: the opening hours.
  No recent data: said so, with the city's congestion page.
- ``subscribe_queue_notice``: a form (office, ticket number; the number may be typed in full-width
  digits or kanji numerals, 二百四十五番). ``/subscribe_queue_notice{"action": "cancel"}`` cancels.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime

from bot.effects import Effect
from bot.form_engine import Extracted, Form, Slot, start_form
from bot.payloads import make_payload
from bot.skill_registry import Skill
from bot.turn import Turn
from bot.types import Button, Reply
from nlu.numbers import KANJI_NUMBER, kanji_to_int
from services.queue.runtime import QueueRuntime
from services.queue.types import TicketStatus

FORM = "queue_notice"
#: The metadata key the kiosk puts its location in.
KIOSK_LOCATION = "kiosk_location"
MAX_TICKET = 99_999
_NUMBER = re.compile(r"(?<!\d)(\d{1,5})(?!\d)")
_MARKED = re.compile(r"(?<!\d)(\d{1,5})\s*(?:番|ばん|号|號|번)")
CANCEL = "cancel"


# --- reading what the resident said ---------------------------------------------------------


def read_ticket(text: str) -> int | None:
    """The ticket number in ``text``: full-width digits and kanji numerals count; "245番" wins over other numbers."""
    folded = unicodedata.normalize("NFKC", text)
    folded = KANJI_NUMBER.sub(lambda m: str(kanji_to_int(m.group(0)) or m.group(0)), folded)
    marked = _MARKED.findall(folded)
    numbers = marked or _NUMBER.findall(folded)
    if len(set(numbers)) != 1:
        return None
    value = int(numbers[0])
    return value if 0 < value <= MAX_TICKET else None


def ticket_in(turn: Turn) -> int | None:
    """The ticket number the message gives (the NLU's ``ticket_number``, a button, or the text)."""
    for kind in ("ticket", "ticket_number"):
        value = turn.entity(kind)
        if value is not None:
            return read_ticket(value)
    return read_ticket(turn.message.text) if not turn.message.text.startswith("/") else None


def office_in(turn: Turn, runtime: QueueRuntime) -> str | None:
    """The office the message names (entity, button or text), else None."""
    directory = runtime.directory()
    for kind in ("office", "ward"):
        value = turn.entity(kind)
        if value is not None and directory.get(value) is not None:
            return value
    text = turn.message.text
    return directory.find(text) if text and not text.startswith("/") else None


def kiosk_office(turn: Turn, runtime: QueueRuntime) -> str | None:
    """The office the kiosk the resident stands at belongs to."""
    location = turn.message.metadata.get(KIOSK_LOCATION)
    return runtime.directory().for_kiosk(str(location)) if location else None


def office_buttons(turn: Turn, runtime: QueueRuntime, intent: str) -> tuple[Button, ...]:
    """One button per office, titled with its name in the resident's language."""
    directory = runtime.directory()
    return tuple(turn.button_for(directory.name(office, turn.language), make_payload(intent, office=office))
                 for office in directory.ids())


# --- check_congestion ---------------------------------------------------------------------


def _local_time(moment: datetime | None, runtime: QueueRuntime) -> str:
    return moment.astimezone(runtime.directory().zone()).strftime("%H:%M") if moment is not None else "—"


def status_reply(turn: Turn, runtime: QueueRuntime, office_id: str) -> Reply:
    """The live state of one office in the resident's language (hours when closed, "no data" when stale)."""
    directory = runtime.directory()
    language = turn.language
    name = directory.name(office_id, language)
    state = runtime.board.office(office_id, runtime.now())
    if state is None or not state.open:
        return Reply(text=turn.text("queue.closed", office=name, hours=directory.hours_text(office_id, language)))
    if not state.available:
        return Reply(text=turn.text("queue.unavailable", office=name, url=runtime.fallback_url(language)))
    lines = [turn.text("queue.status.header", office=name, time=_local_time(state.updated_at, runtime))]
    for service in state.services:
        if not service.available:
            continue
        label = directory.service_name(service.service, language)
        if not service.waiting:
            lines.append(turn.text("queue.status.service_empty", service=label))
        elif service.calling is None:
            lines.append(turn.text("queue.status.service_no_call", service=label, waiting=service.waiting))
        elif service.estimated_wait_minutes is None:
            lines.append(turn.text("queue.status.service_no_estimate", service=label, waiting=service.waiting,
                                   calling=service.calling))
        else:
            lines.append(turn.text("queue.status.service", service=label, waiting=service.waiting,
                                   calling=service.calling, minutes=service.estimated_wait_minutes))
    subscribe = turn.button("button.queue.subscribe", make_payload("subscribe_queue_notice", office=office_id))
    return Reply(text="\n".join(lines), buttons=(subscribe,))


def check_congestion(runtime: QueueRuntime) -> Skill:
    """The live ``check_congestion`` skill."""

    def run(turn: Turn) -> None:
        office = office_in(turn, runtime) or kiosk_office(turn, runtime)
        ids = runtime.directory().ids()
        if office is None and len(ids) == 1:
            office = ids[0]
        if office is None:
            turn.say("queue.ask_office", buttons=office_buttons(turn, runtime, "check_congestion"))
            return
        turn.replies.append(status_reply(turn, runtime, office))

    return Skill(name="check_congestion", topics=frozenset({"check_congestion"}), run=run)


# --- subscribe_queue_notice ---------------------------------------------------------------


def notice_form(runtime: QueueRuntime) -> Form:
    """The form that asks for the office and the ticket number, then subscribes."""

    def extract_office(turn: Turn) -> Extracted:
        office = office_in(turn, runtime)
        if office is None:
            return None
        ticket = ticket_in(turn)
        return {"office": office, "ticket": str(ticket)} if ticket is not None else office

    def extract_ticket(turn: Turn) -> Extracted:
        ticket = ticket_in(turn)
        return str(ticket) if ticket is not None else None

    return Form(
        name=FORM,
        slots=(
            Slot("office", prompt_key="queue.subscribe.ask_office", extract=extract_office,
                 choices=lambda turn: office_buttons(turn, runtime, "inform")),
            Slot("ticket", prompt_key="queue.subscribe.ask_ticket", invalid_key="queue.subscribe.invalid_ticket",
                 extract=extract_ticket),
        ),
        submit=lambda turn, values: _subscribe(turn, runtime, values),
    )


def _subscribe(turn: Turn, runtime: QueueRuntime, values: Mapping[str, str]) -> None:
    directory = runtime.directory()
    office, ticket = values["office"], int(values["ticket"])
    name = directory.name(office, turn.language)
    now = runtime.now()
    if not directory.is_open(office, now):
        turn.say("queue.subscribe.closed", office=name, hours=directory.hours_text(office, turn.language))
        return
    view = runtime.board.ticket(office, ticket, now)
    if view is not None and view.status is not TicketStatus.WAITING:
        turn.say("queue.subscribe.already_called", ticket=ticket, office=name)
        return
    limit = runtime.settings.notice_ahead
    told_near = view is not None and view.ahead <= limit
    turn.effects.append(Effect("queue.subscribe", {
        "office": office, "ticket": ticket, "conversation_id": turn.conversation_id, "office_name": name,
        "told_near": told_near}))
    cancel = turn.button("button.queue.cancel", make_payload("subscribe_queue_notice", action=CANCEL))
    if view is not None and told_near:
        turn.say("queue.subscribe.done_near", ticket=ticket, office=name, ahead=view.ahead, buttons=(cancel,))
        return
    text = turn.text("queue.subscribe.done", ticket=ticket, office=name, notice_ahead=limit)
    if view is not None:
        minutes = runtime.board.estimate_for(office, view.service, view.ahead, now)
        text += "\n" + (turn.text("queue.subscribe.position", ahead=view.ahead, minutes=minutes) if minutes is not None
                        else turn.text("queue.subscribe.position_no_estimate", ahead=view.ahead))
    turn.replies.append(Reply(text=text, buttons=(cancel,)))


def subscribe_queue_notice(runtime: QueueRuntime) -> Skill:
    """The ``subscribe_queue_notice`` skill: starts the form (office and number filled from the message), or cancels."""
    form = notice_form(runtime)

    def run(turn: Turn) -> None:
        if turn.entity("action") == CANCEL:
            _cancel(turn, runtime)
            return
        initial: dict[str, str] = {}
        office = office_in(turn, runtime) or kiosk_office(turn, runtime)
        ticket = ticket_in(turn)
        if office is not None:
            initial["office"] = office
        if ticket is not None:  # "tell me when 245 is near": only the office is asked
            initial["ticket"] = str(ticket)
        start_form(turn, form, initial)

    return Skill(name="subscribe_queue_notice", topics=frozenset({"subscribe_queue_notice"}), run=run, forms=(form,))


def _cancel(turn: Turn, runtime: QueueRuntime) -> None:
    active = runtime.board.subscriptions_of(turn.conversation_id, runtime.now())
    if not active:
        turn.say("queue.cancel.none")
        return
    turn.effects.append(Effect("queue.unsubscribe", {"conversation_id": turn.conversation_id}))
    tickets = ", ".join(str(ticket) for _office, ticket in active)
    turn.say("queue.cancel.done", tickets=tickets)


def queue_skills_for(runtime: QueueRuntime) -> list[Skill]:
    """The queue service's skills on ``runtime``."""
    return [check_congestion(runtime), subscribe_queue_notice(runtime)]
