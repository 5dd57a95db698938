"""The form engine: slot filling with per-slot validation, re-prompts, interruptions and cancellation.

A :class:`Form` is data: its slots (what to ask, how to read an answer, when a slot is asked at
all), the topics that may interrupt it, the intents that cancel it and what to offer after too
many attempts. One engine runs every form, so the garbage-day question and the out-of-hours
"leave a phone number or a message" flow behave alike. A form keeps its progress in the
conversation state (``active_form`` and ``slots``), so it survives a server restart and works
behind a load balancer.

Secret slots (a PIN, a password, a registration number) are never asked in the chat: the form
sends a one-time link to a secure page (:attr:`Turn.secret_request <bot.turn.Turn.secret_request>`),
and when the resident submitted it the core sends the conversation a
``/secret_submitted{"sealed": "<id>"}`` message. The slots then hold ``sealed:<id>``
(:data:`~bot.records.SEALED_PREFIX`); the secret itself never enters the state, the transcript or logs.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.payloads import make_payload, parse_payload
from bot.records import SEALED_PREFIX, SecretRequestDraft
from bot.turn import Turn
from bot.types import Button, Link, Reply
from nlu.types import OUT_OF_SCOPE

#: Topics that interrupt a form instead of being taken as a slot answer (the default of ``Form.interrupted_by``).
INTERRUPTING_TOPICS = frozenset({"restart", "change_language", "talk_to_staff", "request_interpreter", "goodbye"})
#: Interrupting topics that end the form they interrupt (a form they start themselves stays).
FORM_ENDING_TOPICS = frozenset({"talk_to_staff", "request_interpreter", "goodbye"})
#: The intent of the message the core sends when the resident submitted a secure form.
SECRET_SUBMITTED = "secret_submitted"
#: Unreadable answers in a row before a form gives up.
MAX_ATTEMPTS = 3
#: From this confidence a message that answers nothing counts as clearly about another topic.
ELSEWHERE_CONFIDENCE = 0.5

#: What an extractor found: the slot's value, several slots' values at once, or None (no answer).
Extracted = str | Mapping[str, str] | None

_ATTEMPTS = "_attempts"
#: A sealed secret's id as the vault makes them (it is stored in a 32-character column).
_SEALED_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def _nothing(turn: Turn) -> Extracted:
    return None


def _no_buttons(turn: Turn) -> Sequence[Button]:
    return ()


def _no_params(turn: Turn) -> Mapping[str, object]:
    return {}


def staff_button(turn: Turn) -> Sequence[Button]:
    """"Talk to staff": what a form offers by default when it gives up."""
    return (turn.button("button.talk_to_staff", make_payload("talk_to_staff")),)


@dataclass(frozen=True)
class Slot:
    """One piece of information a form asks for.

    ``extract`` reads the answer from the turn: a value for this slot, a mapping that fills this
    slot and later ones from the same message (e.g. a phone number typed at "phone or message?"),
    or None when the message holds no valid answer. ``prompt_key`` / ``invalid_key`` are catalog
    keys (the invalid one defaults to the prompt) rendered with ``params(turn)`` and ``choices(turn)``
    as buttons. ``when`` (on the values so far) decides whether the slot is asked at all.
    ``free_text``: any text is an answer, so an interrupting topic is checked before the answer.
    ``secret``: the value is typed on a secure page, never in the chat (``extract`` is not used).
    """

    name: str
    prompt_key: str = ""
    invalid_key: str = ""
    extract: Callable[[Turn], Extracted] = _nothing
    choices: Callable[[Turn], Sequence[Button]] = _no_buttons
    params: Callable[[Turn], Mapping[str, object]] = _no_params
    when: Callable[[Mapping[str, str]], bool] | None = None
    free_text: bool = False
    secret: bool = False

    def __post_init__(self) -> None:
        if self.name.startswith("_"):
            raise ValueError(f"slot names starting with '_' are reserved: {self.name!r}")
        if self.secret and self.extract is not _nothing:
            raise ValueError(f"secret slot {self.name!r} is filled by the secure form only, not by extract")
        if not self.secret and not self.prompt_key:
            raise ValueError(f"slot {self.name!r} needs a prompt_key")

    def asked(self, values: Mapping[str, str]) -> bool:
        """Whether the slot is asked, given the values filled so far."""
        return self.when is None or self.when(values)


@dataclass(frozen=True)
class Form:
    """A task that needs several slots before ``submit(turn, values)`` can do it.

    ``values`` holds every slot filled (secret ones as ``sealed:<id>``) and the initial values the
    form was started with. ``interrupted_by``: topics handled instead of an answer, after which the
    form is re-prompted (or ended, for :data:`FORM_ENDING_TOPICS`). ``cancelled_by_other_topics``:
    a message confidently about another topic cancels the form and is answered instead (otherwise
    it counts as an unreadable answer). ``cancel_intents`` cancel the form with ``cancel_key`` and
    the start menu. After ``max_attempts`` unreadable answers the form ends with
    ``form.retry_limit`` and ``retry_buttons(turn)``.
    """

    name: str
    slots: tuple[Slot, ...]
    submit: Callable[[Turn, Mapping[str, str]], None]
    interrupted_by: frozenset[str] = INTERRUPTING_TOPICS
    cancelled_by_other_topics: bool = True
    cancel_intents: frozenset[str] = frozenset()
    cancel_key: str = "form.cancelled"
    retry_buttons: Callable[[Turn], Sequence[Button]] = staff_button
    max_attempts: int = MAX_ATTEMPTS

    def __post_init__(self) -> None:
        names = [slot.name for slot in self.slots]
        if len(set(names)) != len(names):
            raise ValueError(f"form {self.name!r} has two slots with one name")

    def slot(self, name: str) -> Slot | None:
        """The slot called ``name``."""
        return next((slot for slot in self.slots if slot.name == name), None)


# --- what the handler chain calls ---------------------------------------------------------


def start_form(turn: Turn, form: Form, initial: Mapping[str, str] | None = None) -> None:
    """Begin ``form`` with ``initial`` values (context for ``submit``), taking any answer already in the message."""
    initial = dict(initial or {})
    secret = [name for name in initial if (slot := form.slot(name)) is not None and slot.secret]
    if secret:
        raise ValueError(f"secret slots cannot be given initial values: {secret}")
    turn.state.active_form = form.name
    turn.state.slots = initial
    slot = next_slot(form, form_values(turn))
    _advance(turn, form, slot, _extract(turn, form, slot) if slot is not None else None, answering=False)


def handle_active_form(turn: Turn, form: Form, dispatch: Callable[[Turn], None]) -> None:
    """One message while ``form`` waits for a slot: an answer fills it; an interrupting topic is
    dispatched (then the form is re-prompted or ended as that topic requires); anything else
    confidently about another topic cancels the form and is dispatched.

    Before that, one of the form's ``cancel_intents`` ends it with its ``cancel_key``. An answer the
    slot's extractor finds wins over an interrupting topic, except for a ``free_text`` slot (where
    any text would be an answer). ``dispatch`` answers a turn as if no form were active.
    """
    understood = turn.understood
    if understood.topic in form.cancel_intents and not understood.ambiguous:
        cancel_form(turn)
        turn.topic = form.name
        turn.say(form.cancel_key, buttons=turn.menu_buttons())
        return
    interrupting = understood.topic in form.interrupted_by and not understood.ambiguous
    slot = next_slot(form, form_values(turn))
    found = None
    if slot is not None and not (slot.free_text and interrupting):
        found = _extract(turn, form, slot)
    if found is None and interrupting:
        _interrupt(turn, form, dispatch)
        return
    if found is None and slot is not None and form.cancelled_by_other_topics and _confidently_elsewhere(turn, form):
        cancel_form(turn)
        dispatch(turn)
        return
    turn.topic = form.name
    _advance(turn, form, slot, found, answering=True)


def reprompt(turn: Turn, form: Form) -> None:
    """Ask the current slot's question again (e.g. after the language changed)."""
    slot = next_slot(form, form_values(turn))
    if slot is not None:
        _ask(turn, form, slot)


def cancel_form(turn: Turn) -> None:
    """Forget the active form."""
    turn.state.active_form = None
    turn.state.slots = {}


def form_values(turn: Turn) -> dict[str, str]:
    """The active form's values so far (without the engine's own bookkeeping)."""
    return {name: str(value) for name, value in turn.state.slots.items() if not name.startswith("_")}


def next_slot(form: Form, values: Mapping[str, str]) -> Slot | None:
    """The first slot still to fill that is asked, given ``values``."""
    return next((slot for slot in form.slots if slot.name not in values and slot.asked(values)), None)


def secure_form_url(turn: Turn, token: str) -> str:
    """The secure page of ``token``: under ``server.public_url``, or a relative link when that is not set."""
    base = (turn.services.config.server.public_url or "").rstrip("/")
    return f"{base}/secure/{token}"


def sealed_id(value: str | None) -> str | None:
    """The sealed secret's id in a secret slot's value (``sealed:<id>``), or None."""
    if value is None or not value.startswith(SEALED_PREFIX):
        return None
    sealed = value[len(SEALED_PREFIX):]
    return sealed if _SEALED_ID.fullmatch(sealed) else None


# --- the engine ---------------------------------------------------------------------------


def _interrupt(turn: Turn, form: Form, dispatch: Callable[[Turn], None]) -> None:
    topic = turn.understood.topic
    ending = topic in FORM_ENDING_TOPICS
    if ending:
        cancel_form(turn)  # a form the topic starts itself (e.g. the out-of-hours one) then stays
    dispatch(turn)
    if not ending and turn.state.active_form == form.name:
        reprompt(turn, form)  # e.g. the same question in the new language


def _advance(turn: Turn, form: Form, slot: Slot | None, found: dict[str, str] | None, *, answering: bool) -> None:
    """Store ``found``; then ask the next question, or re-ask after an unreadable answer, or submit."""
    slots: dict[str, Any] = turn.state.slots
    if found is not None:
        slots.update(found)
        slots.pop(_ATTEMPTS, None)
    elif slot is not None and answering:
        attempts = int(slots.get(_ATTEMPTS, 0)) + 1
        if attempts >= form.max_attempts:
            cancel_form(turn)
            turn.say("form.retry_limit", buttons=form.retry_buttons(turn))
            return
        slots[_ATTEMPTS] = attempts
        _ask(turn, form, slot, invalid=True)
        return
    following = next_slot(form, form_values(turn))
    if following is not None:
        _ask(turn, form, following)
        return
    values = form_values(turn)
    cancel_form(turn)
    form.submit(turn, values)


def _extract(turn: Turn, form: Form, slot: Slot) -> dict[str, str] | None:
    """The values the message gives, checked against the form's slots; None: no answer."""
    sealed = _sealed_submission(turn)
    if slot.secret:
        if sealed is None:
            return None
        return {secret.name: SEALED_PREFIX + sealed for secret in _secret_group(form, form_values(turn))}
    if sealed is not None:
        return None  # a secure form's reference never fills an ordinary slot
    found = slot.extract(turn)
    if found is None:
        return None
    values = {slot.name: found} if isinstance(found, str) else {str(k): str(v) for k, v in found.items()}
    for name in values:
        other = form.slot(name)
        if other is None or other.secret:
            raise ValueError(f"the extractor of {form.name}.{slot.name} filled {name!r}")
    if slot.name not in values:
        raise ValueError(f"the extractor of {form.name}.{slot.name} did not fill its own slot")
    return values


def _ask(turn: Turn, form: Form, slot: Slot, *, invalid: bool = False) -> None:
    if slot.secret:
        _request_secrets(turn, form)
        return
    key = slot.invalid_key if invalid and slot.invalid_key else slot.prompt_key
    turn.replies.append(Reply(text=turn.text(key, **slot.params(turn)), buttons=tuple(slot.choices(turn))))


def _request_secrets(turn: Turn, form: Form) -> None:
    """Open a one-time secure page for the secret slots asked next (a new link each time)."""
    names = tuple(slot.name for slot in _secret_group(form, form_values(turn)))
    token = secrets.token_urlsafe(32)
    turn.secret_request = SecretRequestDraft(token=token, form=form.name, slots=names)
    turn.say("form.secure_prompt", links=[Link(turn.text("form.secure_link"), secure_form_url(turn, token))])


def _secret_group(form: Form, values: Mapping[str, str]) -> tuple[Slot, ...]:
    """The secret slots asked next, up to the next ordinary slot (one secure page fills them all)."""
    group: list[Slot] = []
    for slot in form.slots:
        if slot.name in values or not slot.asked(values):
            continue
        if not slot.secret:
            break
        group.append(slot)
    return tuple(group)


def _sealed_submission(turn: Turn) -> str | None:
    payload = parse_payload(turn.message.text)
    if payload is None or payload.intent != SECRET_SUBMITTED:
        return None
    return sealed_id(SEALED_PREFIX + payload.entities.get("sealed", ""))


def _confidently_elsewhere(turn: Turn, form: Form) -> bool:
    understood = turn.understood
    return (
        _sealed_submission(turn) is None  # a late secure-form submission is not another topic
        and understood.topic not in (OUT_OF_SCOPE, form.name)
        and not understood.ambiguous
        and understood.confidence >= ELSEWHERE_CONFIDENCE
    )
