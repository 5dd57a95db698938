"""Forms: the engine's API (:mod:`bot.form_engine`) and the forms every deployment has.

The handler chain calls :func:`handle_active_form` while a form waits for a slot and
:func:`start_form` when a topic is a form; :func:`default_forms` lists the forms by name.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.desk.resident import HANDOFF_CALLBACK
from bot.form_engine import (
    FORM_ENDING_TOPICS,
    INTERRUPTING_TOPICS,
    MAX_ATTEMPTS,
    SECRET_SUBMITTED,
    Extracted,
    Form,
    Slot,
    cancel_form,
    form_values,
    handle_active_form,
    next_slot,
    reprompt,
    sealed_id,
    secure_form_url,
    staff_button,
    start_form,
)
from bot.payloads import make_payload
from bot.turn import Turn
from bot.types import Button

__all__ = [
    "FORM_ENDING_TOPICS",
    "GARBAGE_COLLECTION_DAY",
    "INTERRUPTING_TOPICS",
    "MAX_ATTEMPTS",
    "SECRET_SUBMITTED",
    "Extracted",
    "Form",
    "Slot",
    "cancel_form",
    "default_forms",
    "form_values",
    "handle_active_form",
    "next_slot",
    "reprompt",
    "sealed_id",
    "secure_form_url",
    "staff_button",
    "start_form",
]


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
    turn.state.district = district  # remembered: district notices (e.g. a changed collection day) reach them
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
    """Forms every deployment has, by name (a form named after a topic is started by that topic)."""
    return {form.name: form for form in (GARBAGE_COLLECTION_DAY, HANDOFF_CALLBACK)}
