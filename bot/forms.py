"""Forms: slot filling with per-slot validation, re-prompts and cancellation.

A form keeps its progress in the conversation state (``active_form`` and
``slots``), so it survives a server restart and works behind a load balancer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.payloads import make_payload
from bot.turn import Turn
from bot.types import Button

#: Topics that interrupt a form instead of being taken as a slot answer.
INTERRUPTING_TOPICS = frozenset({"restart", "change_language", "talk_to_staff", "request_interpreter", "goodbye"})
MAX_ATTEMPTS = 3
_ATTEMPTS = "_attempts"


@dataclass(frozen=True)
class Slot:
    """One piece of information a form asks for.

    ``extract`` finds a valid value in the turn (None when there is none);
    ``choices`` are offered as buttons with the prompt.
    """

    name: str
    prompt_key: str
    invalid_key: str
    extract: Callable[[Turn], str | None]
    choices: Callable[[Turn], tuple[Button, ...]]


@dataclass(frozen=True)
class Form:
    """A task that needs several slots before it can be done."""

    name: str
    slots: tuple[Slot, ...]
    submit: Callable[[Turn, Mapping[str, str]], None]


def start_form(turn: Turn, form: Form) -> None:
    """Begin ``form``, taking any slot values already present in the message."""
    turn.state.active_form = form.name
    turn.state.slots = {}
    _fill_and_advance(turn, form, first_turn=True)


def continue_form(turn: Turn, form: Form) -> bool:
    """Feed the message to the active form.

    Returns False, changing nothing, when the message is not an answer to the
    form's question but clearly about something else (another topic, or
    restart / change language / staff); the engine then handles that instead.
    """
    slot = _next_slot(turn, form)
    if slot is not None and slot.extract(turn) is None and _confidently_elsewhere(turn, form.name):
        return False
    _fill_and_advance(turn, form, first_turn=False)
    return True


def reprompt(turn: Turn, form: Form) -> None:
    """Ask the current slot's question again (e.g. after the language changed)."""
    slot = _next_slot(turn, form)
    if slot is not None:
        turn.say(slot.prompt_key, buttons=slot.choices(turn))


def cancel_form(turn: Turn) -> None:
    """Forget the active form."""
    turn.state.active_form = None
    turn.state.slots = {}


def _fill_and_advance(turn: Turn, form: Form, *, first_turn: bool) -> None:
    turn.topic = form.name
    slot = _next_slot(turn, form)
    if slot is not None:
        value = slot.extract(turn)
        if value is not None:
            turn.state.slots[slot.name] = value
            turn.state.slots.pop(_ATTEMPTS, None)
        elif not first_turn:
            attempts = int(turn.state.slots.get(_ATTEMPTS, 0)) + 1
            if attempts >= MAX_ATTEMPTS:
                cancel_form(turn)
                staff = turn.button("button.talk_to_staff", make_payload("talk_to_staff"))
                turn.say("form.retry_limit", buttons=[staff])
                return
            turn.state.slots[_ATTEMPTS] = attempts
            turn.say(slot.invalid_key, buttons=slot.choices(turn))
            return
    slot = _next_slot(turn, form)
    if slot is not None:
        turn.say(slot.prompt_key, buttons=slot.choices(turn))
        return
    values = {name: str(value) for name, value in turn.state.slots.items() if name != _ATTEMPTS}
    cancel_form(turn)
    form.submit(turn, values)


def _next_slot(turn: Turn, form: Form) -> Slot | None:
    return next((slot for slot in form.slots if slot.name not in turn.state.slots), None)


def _confidently_elsewhere(turn: Turn, form_topic: str) -> bool:
    understood = turn.understood
    return (
        understood.topic not in ("out_of_scope", form_topic)
        and not understood.ambiguous
        and (understood.topic in INTERRUPTING_TOPICS or understood.confidence >= 0.5)
    )


# --- garbage collection day: the district slot -------------------------------------------


def _district_choices(turn: Turn) -> tuple[Button, ...]:
    return tuple(
        turn.button_for(turn.profile_value(f"districts.{district}.name"), make_payload("inform", district=district))
        for district in turn.services.profile.children("districts")
    )


def _extract_district(turn: Turn) -> str | None:
    value = turn.entity("district")
    return value if value in turn.services.profile.children("districts") else None


def _garbage_days(turn: Turn, values: Mapping[str, str]) -> None:
    district = values["district"]
    prefix = f"districts.{district}"
    turn.say(
        "garbage_day.answer",
        district=turn.profile_value(f"{prefix}.name"),
        burnable=turn.profile_value(f"{prefix}.burnable"),
        plastic=turn.profile_value(f"{prefix}.plastic"),
        cans_bottles=turn.profile_value(f"{prefix}.cans_bottles"),
        paper=turn.profile_value(f"{prefix}.paper"),
        put_out_by=turn.profile_value("garbage.put_out_by"),
    )


GARBAGE_COLLECTION_DAY = Form(
    name="garbage_collection_day",
    slots=(
        Slot(
            name="district",
            prompt_key="garbage_day.ask_district",
            invalid_key="garbage_day.invalid_district",
            extract=_extract_district,
            choices=_district_choices,
        ),
    ),
    submit=_garbage_days,
)


def default_forms() -> dict[str, Form]:
    """Forms every deployment has, by topic id."""
    return {form.name: form for form in (GARBAGE_COLLECTION_DAY,)}
