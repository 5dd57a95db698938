"""Forms as residents meet them: the garbage-day question, the out-of-hours callback, secret slots.

One engine runs every form; these conversations go through the whole engine (rule NLU, real
store, KB and catalogs) as in ``test_engine.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

import bot.app
from bot.app import Components
from bot.effects import Effect
from bot.forms import (
    FORM_ENDING_TOPICS,
    INTERRUPTING_TOPICS,
    Form,
    Slot,
    default_forms,
    sealed_id,
    secure_form_url,
)
from bot.payloads import make_payload
from bot.records import SEALED_PREFIX
from bot.secrets import SecretVault
from bot.storage import models
from bot.storage.turns import token_hash
from bot.turn import Turn
from bot.types import InboundMessage, TurnResult
from tests.fakes import RuleNlu
from tests.shared_fixtures import Clock

TOKYO = ZoneInfo("Asia/Tokyo")
#: Every demo desk is closed: the out-of-hours form starts instead of the queue.
SUNDAY_NIGHT = datetime(2026, 11, 22, 23, 0, tzinfo=TOKYO)


def say(components: Components, text: str, *, bot: str = "residents", language: str | None = None,
        metadata: dict[str, Any] | None = None) -> TurnResult:
    message = InboundMessage(bot=bot, channel="web", sender="resident-forms-0000000001", text=text,
                             language=language, metadata=metadata or {})
    return components.engine.handle(message)


def payloads(result: TurnResult) -> list[str]:
    return [b.payload for reply in result.replies for b in reply.buttons]


def handoffs(components: Components) -> list[models.HandoffRequest]:
    with components.store.sessions() as session:
        return list(session.scalars(select(models.HandoffRequest)))


@pytest.fixture
def closed_desk(build: Callable[..., Components], rule_nlu: RuleNlu) -> Components:
    """An app whose staff desk follows the profile's hours, on a Sunday night."""
    components = build(nlu=rule_nlu, now=Clock(SUNDAY_NIGHT))
    desk = components.engine.services.desk
    assert desk is not None
    desk.settings = desk.settings.model_copy(update={"always_open": False})
    return components


def test_the_topic_sets_are_defined_once_and_ending_topics_interrupt() -> None:
    assert FORM_ENDING_TOPICS <= INTERRUPTING_TOPICS
    assert set(default_forms()) == {"garbage_collection_day", "handoff_callback"}


# --- the garbage-day form (unchanged) ------------------------------------------------------


def test_garbage_form_reprompts_then_answers(build: Callable[..., Components], rule_nlu: RuleNlu) -> None:
    components = build(nlu=rule_nlu)
    first = say(components, "ごみの日を知りたい", bot="city_hall")
    assert '/inform{"district":"kita"}' in payloads(first)
    wrong = say(components, "ええと", bot="city_hall")
    assert wrong.topic == "garbage_collection_day" and "分かりませんでした" in wrong.replies[0].text
    done = say(components, '/inform{"district":"kita"}', bot="city_hall")
    assert components.knowledge.profile.value("districts.kita.burnable", "ja") in done.replies[0].text
    assert say(components, "ええと", bot="city_hall").topic == "out_of_scope"


def test_garbage_form_gives_up_after_three_unreadable_answers_and_offers_staff(
    build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    components = build(nlu=rule_nlu)
    say(components, "ごみの日", bot="city_hall")
    say(components, "ええと", bot="city_hall")
    say(components, "うーん", bot="city_hall")
    gave_up = say(components, "えー", bot="city_hall")
    assert gave_up.replies[0].text == components.catalog.text("form.retry_limit", "ja")
    assert payloads(gave_up) == ["/talk_to_staff"]


def test_asking_for_staff_out_of_hours_ends_the_garbage_form_and_starts_the_callback(
    closed_desk: Components,
) -> None:
    say(closed_desk, "garbage day", bot="city_hall", language="en")
    offer = say(closed_desk, "staff please", bot="city_hall")
    assert offer.topic == "talk_to_staff"
    assert "not available right now" in offer.replies[0].text
    assert [r.text for r in offer.replies if "Which district" in r.text] == []  # no re-prompt of the old form
    asked = say(closed_desk, '/inform{"callback":"message"}', bot="city_hall")
    assert asked.topic == "handoff_callback" and "write your message" in asked.replies[0].text


# --- the out-of-hours callback form ------------------------------------------------------


def test_a_phone_number_typed_at_the_first_step_goes_straight_to_the_confirmation(closed_desk: Components) -> None:
    offer = say(closed_desk, "staff please", language="en")
    assert offer.topic == "talk_to_staff" and "Tuesday to Saturday" in offer.replies[0].text
    assert payloads(offer) == ['/inform{"callback":"phone"}', '/inform{"callback":"message"}', "/handoff_declined"]
    confirm = say(closed_desk, "call me on ０９０-１２３４-５６７８ please")
    assert confirm.topic == "handoff_callback"
    assert "May we call 09012345678" in confirm.replies[0].text
    assert payloads(confirm) == ['/inform{"consent":"yes"}', "/handoff_declined"]
    ticket = say(closed_desk, payloads(confirm)[0])
    assert "ticket number is R-" in ticket.replies[0].text
    [handoff] = handoffs(closed_desk)
    assert (handoff.kind, handoff.reason, handoff.status) == ("staff", "asked", "callback")
    assert handoff.callback_phone == "09012345678" and handoff.callback_message is None
    assert handoff.ticket is not None and handoff.ticket in ticket.replies[0].text
    assert say(closed_desk, "hello").topic == "greet"  # the form is over


def test_the_phone_button_then_a_wrong_number_then_the_right_one(closed_desk: Components) -> None:
    say(closed_desk, "staff please", language="en")
    asked = say(closed_desk, '/inform{"callback":"phone"}')
    assert "phone number" in asked.replies[0].text
    assert "doesn't look like" in say(closed_desk, "my number is 12345").replies[0].text
    confirm = say(closed_desk, "090-1234-5678")
    assert "09012345678" in confirm.replies[0].text


def test_a_message_ticket_after_a_change_of_language(closed_desk: Components) -> None:
    offer = say(closed_desk, "staff please", language="en")
    asked = say(closed_desk, payloads(offer)[1])
    assert "write your message" in asked.replies[0].text
    switched = say(closed_desk, "英語で")  # interrupts the form: not taken as the message
    assert switched.topic == "change_language"
    assert [r.text for r in switched.replies][1] == asked.replies[0].text  # asked again
    ticket = say(closed_desk, "I need to change my address on the residence card")
    assert "ticket number is" in ticket.replies[0].text
    [handoff] = handoffs(closed_desk)
    assert handoff.callback_message == "I need to change my address on the residence card"
    assert handoff.callback_phone is None


def test_another_topic_is_read_as_an_answer_while_the_desk_is_closed(closed_desk: Components) -> None:
    say(closed_desk, "staff please", language="en")
    again = say(closed_desk, "hello")  # greet, confidently: still an (unreadable) answer to the callback form
    assert again.topic == "handoff_callback" and "not available right now" in again.replies[0].text


def test_declining_cancels_the_callback_and_saves_nothing(closed_desk: Components) -> None:
    offer = say(closed_desk, "staff please", language="en")
    declined = say(closed_desk, payloads(offer)[2])
    assert declined.topic == "handoff_callback"
    assert "nothing was saved" in declined.replies[0].text
    assert handoffs(closed_desk) == []
    assert say(closed_desk, "090-1234-5678").topic == "out_of_scope"  # no longer answering the form


def test_the_callback_form_gives_up_after_three_unreadable_answers(closed_desk: Components) -> None:
    say(closed_desk, "staff please", language="en")
    assert "not available right now" in say(closed_desk, "hmm").replies[0].text
    assert "not available right now" in say(closed_desk, "what").replies[0].text
    gave_up = say(closed_desk, "no idea")
    assert gave_up.replies[0].text == closed_desk.catalog.text("form.retry_limit", "en")
    assert "/talk_to_staff" not in payloads(gave_up)  # the start menu: staff are not there anyway
    assert payloads(gave_up)
    assert handoffs(closed_desk) == []


def test_a_kiosk_request_keeps_its_location_on_the_ticket(closed_desk: Components) -> None:
    say(closed_desk, "staff please", language="en", metadata={"kiosk_location": "Kita community centre"})
    say(closed_desk, '/inform{"callback":"message"}')
    say(closed_desk, "Please call the community centre")
    [handoff] = handoffs(closed_desk)
    assert handoff.details["kiosk_location"] == "Kita community centre"


# --- secret slots ----------------------------------------------------------------------------

RENEWAL = "test_card_renewal"


class Renewals:
    """A test-only live-service form: a branch, then the library card and PIN on the secure page."""

    def __init__(self) -> None:
        self.submitted: list[Mapping[str, str]] = []
        self.form = Form(
            name=RENEWAL,
            slots=(
                Slot(name="branch", prompt_key="garbage_day.ask_district", extract=lambda turn: turn.entity("branch")),
                Slot(name="card", secret=True),
                Slot(name="pin", secret=True),
            ),
            submit=self.submit,
        )

    def submit(self, turn: Turn, values: Mapping[str, str]) -> None:
        self.submitted.append(dict(values))
        turn.effects.append(Effect(kind="library.renew", params={"branch": values["branch"]},
                                   secret=sealed_id(values["card"])))
        turn.say("thanks.reply")


@pytest.fixture
def renewals(monkeypatch: pytest.MonkeyPatch) -> Renewals:
    """Registers the test form for apps built afterwards."""
    renewals = Renewals()
    monkeypatch.setattr(bot.app, "default_forms", lambda: {**default_forms(), RENEWAL: renewals.form})
    return renewals


@pytest.fixture
def library(build: Callable[..., Components], rule_nlu: RuleNlu, renewals: Renewals) -> Iterator[Components]:
    rule_nlu.add("renew my card", RENEWAL)
    yield build(nlu=rule_nlu)


def state_slots(components: Components, result: TurnResult) -> dict[str, Any]:
    return dict(components.store.load_state(result.conversation_id).slots)


def everything_stored(components: Components) -> str:
    """Every row of every table but the vault's, as text."""
    dump: list[str] = []
    with components.store.sessions() as session:
        for table in models.Base.metadata.sorted_tables:
            if table.name != "sealed_secrets":
                dump.extend(repr(tuple(row)) for row in session.execute(table.select()))
    return "\n".join(dump)


def test_secret_slots_are_asked_on_a_secure_page_and_reach_the_effect_sealed(
    library: Components, renewals: Renewals
) -> None:
    asked = say(library, "renew my card", bot="library", language="en")
    assert asked.topic == RENEWAL
    secure = say(library, make_payload("inform", branch="central"), bot="library")
    assert secure.replies[0].text == library.catalog.text("form.secure_prompt", "en")
    [link] = secure.replies[0].links
    assert link.title == library.catalog.text("form.secure_link", "en")
    assert link.url.startswith("/secure/")  # no server.public_url: a relative link
    token = link.url.removeprefix("/secure/")
    with library.store.sessions() as session:
        [request] = session.scalars(select(models.SecretRequest)).all()
    assert request.token_hash == token_hash(token) and request.form == RENEWAL
    assert request.slots == ["card", "pin"]
    assert state_slots(library, secure) == {"branch": "central"}

    typed = say(library, "my pin is 5555", bot="library")  # typed in the chat by mistake: never kept
    assert typed.topic == RENEWAL and typed.replies[0].links[0].url != link.url  # a fresh link
    assert "5555" not in repr(state_slots(library, typed))

    vault = SecretVault(library.store.sessions, Fernet.generate_key())
    sealed = vault.seal(secure.conversation_id, {"card": "LIB-99887766", "pin": "8642"}, timedelta(minutes=10))
    done = say(library, make_payload("secret_submitted", sealed=sealed), bot="library",
               metadata={"origin": "secure_form"})
    assert done.topic == RENEWAL
    assert renewals.submitted == [{"branch": "central", "card": SEALED_PREFIX + sealed, "pin": SEALED_PREFIX + sealed}]
    with library.store.sessions() as session:
        [effect] = session.scalars(select(models.EffectRecord)).all()
    assert (effect.kind, effect.params, effect.secret_id) == ("library.renew", {"branch": "central"}, sealed)
    assert state_slots(library, done) == {}
    stored = everything_stored(library)
    assert "LIB-99887766" not in stored and "8642" not in stored


def test_the_secure_link_uses_the_public_url(library: Components) -> None:
    library.config.server.__dict__["public_url"] = "https://chat.example-city.jp/"
    say(library, "renew my card", bot="library", language="en")
    secure = say(library, make_payload("inform", branch="central"), bot="library")
    assert secure.replies[0].links[0].url.startswith("https://chat.example-city.jp/secure/")


def test_a_secure_submission_never_fills_an_ordinary_slot(library: Components) -> None:
    say(library, "renew my card", bot="library", language="en")
    stray = say(library, make_payload("secret_submitted", sealed="0" * 32), bot="library")
    assert stray.topic == RENEWAL  # an unreadable answer to "which branch?", not another topic
    assert state_slots(library, stray) == {"_attempts": 1}


def test_secure_form_url_is_relative_without_a_public_url(library: Components) -> None:
    turn: Any = type("FakeTurn", (), {"services": library.engine.services})()
    assert secure_form_url(turn, "abc") == "/secure/abc"
