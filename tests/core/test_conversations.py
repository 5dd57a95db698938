"""Conversations a resident would notice, through the test channel (``bot.testing``): no HTTP, no database.

Each test talks to the real engine with the shipped KB, catalogs and contract, on memory stores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.effects import Effect
from bot.fakes import RecordingEffectHandler
from bot.forms import Form, Slot, sealed_id
from bot.payloads import make_payload
from bot.skill_registry import topic_skill
from bot.testing import DESK_CLOSED, Conversation, ConversationEngine
from bot.turn import Turn

Conversations = Callable[..., ConversationEngine]


def test_a_greeting_then_an_faq_answer_in_the_residents_language(conversations: Conversations) -> None:
    engine = conversations()
    english = engine.conversation("city_hall")
    english.say("hello there")
    assert (english.topic, english.language) == ("greet", "en")
    assert "/resident_certificate" in [button.payload for button in english.buttons]
    english.say("how do I get a juminhyo")
    assert (english.topic, english.language) == ("resident_certificate", "en")
    assert engine.services.profile.value("fees.resident_certificate", "en") in english.texts[-1]
    assert "{" not in english.texts[-1]  # every placeholder was filled

    japanese = engine.conversation("city_hall")
    japanese.say("こんにちは")
    assert japanese.language == "ja" and "市役所案内" in japanese.texts[0]
    japanese.press("/resident_certificate")  # the start menu's button
    assert engine.services.profile.value("fees.resident_certificate", "ja") in japanese.texts[-1]
    assert japanese.language == "ja"


def test_the_garbage_form_asks_again_then_answers(conversation: Conversation) -> None:
    profile = conversation.engine.services.profile
    conversation.say("ごみの日を知りたい")
    kita = profile.value("districts.kita.name", "ja")
    assert kita in [button.title for button in conversation.buttons]
    conversation.say("ええと")
    assert conversation.topic == "garbage_collection_day" and "分かりませんでした" in conversation.texts[0]
    conversation.press(kita)
    assert profile.value("districts.kita.burnable", "ja") in conversation.texts[0]
    conversation.say("ええと")
    assert conversation.topic == "out_of_scope"  # the form is over


def test_an_effect_is_committed_once_even_when_its_turn_is_retried(conversations: Conversations) -> None:
    handler = RecordingEffectHandler(kind="renew", reply_key="thanks.reply")
    decided: list[str] = []

    def renew(turn: Turn) -> None:
        decided.append(turn.message.text)
        if len(decided) == 1:
            engine.store.touch(turn.conversation_id)  # another server changes the state meanwhile
        turn.effects.append(Effect(kind="renew", params={"item": "book-42"}))
        turn.say("form.cancelled")

    engine = conversations(rules=[("renew", "renew_loan")], skills=[topic_skill("renew_loan", renew)],
                           effects=[handler])
    talk = engine.conversation("library", language="en")
    talk.say("please renew my book")
    assert decided == ["please renew my book"] * 2  # the turn lost a race and was decided again
    assert talk.texts == [engine.catalog.text("form.cancelled", "en")]  # one answer
    assert talk.effects == [Effect(kind="renew", params={"item": "book-42"})]
    assert len(engine.store.effect_rows()) == 1
    assert talk.notices() == [] and handler.calls == []  # performed only after the commit, by the worker
    assert talk.run_effects() == 1 and talk.run_effects() == 0
    assert handler.calls == [f"{talk.transcript[0].id}:0"]
    assert [notice.text for notice in talk.notices()] == [engine.catalog.text("thanks.reply", "en")]
    assert talk.notices() == []


def test_a_failing_integration_is_tried_again_later_and_answers_once(conversations: Conversations) -> None:
    handler = RecordingEffectHandler(kind="renew", reply_key="thanks.reply", failures=1)

    def renew(turn: Turn) -> None:
        turn.effects.append(Effect(kind="renew"))
        turn.say("form.cancelled")

    engine = conversations(rules=[("renew", "renew_loan")], skills=[topic_skill("renew_loan", renew)],
                           effects=[handler])
    talk = engine.conversation("library", language="en")
    talk.say("renew it")
    assert talk.run_effects() == 0 and talk.notices() == []  # the integration is down: backing off
    assert talk.run_effects() == 0  # not due yet: the clock stands still
    engine.clock.advance(seconds=5)
    assert talk.run_effects() == 1
    assert len(handler.calls) == 2 and handler.calls[0] == handler.calls[1]  # the same idempotency key
    assert [notice.text for notice in talk.notices()] == [engine.catalog.text("thanks.reply", "en")]

def test_a_redelivered_message_is_answered_once(conversation: Conversation) -> None:
    first = conversation.say("こんにちは", external_id="evt-1")
    again = conversation.say("こんにちは", external_id="evt-1")
    assert conversation.result.duplicate and again == first  # the stored answer, sent again
    assert len(conversation.transcript) == 2  # one in, one out


def test_talking_to_staff_out_of_hours_leaves_a_ticket(conversations: Conversations) -> None:
    engine = conversations(now=DESK_CLOSED)
    talk = engine.conversation("residents", language="en")
    talk.say("staff please")
    assert talk.topic == "talk_to_staff" and "not available right now" in talk.texts[0]
    talk.press(engine.catalog.text("button.leave_message", "en"))
    assert talk.topic == "handoff_callback" and "write your message" in talk.texts[0]
    talk.say("I need to change my address on the residence card")
    [ticket] = engine.store.handoff_requests()
    assert (ticket.status, ticket.callback_message, ticket.callback_phone) == (
        "callback", "I need to change my address on the residence card", None)
    assert ticket.ticket is not None and f"ticket number is {ticket.ticket}" in talk.texts[0]
    [waiting] = engine.desk.queue(engine.desk.member())  # the ticket waits in the console's queue
    assert (waiting.ticket, waiting.language, waiting.channel) == (ticket.ticket, "en", "test")
    talk.say("hello")
    assert talk.topic == "greet"  # the form is over


def test_staff_answer_in_hours_and_the_resident_rates_them(conversations: Conversations) -> None:
    engine = conversations()
    talk = engine.conversation("city_hall", language="en")
    talk.say("staff please")
    assert "/back_to_bot" in [button.payload for button in talk.buttons]
    staff = engine.desk.member("tanaka", language="en", display_name="Tanaka")
    [handoff] = engine.desk.queue(staff)
    engine.desk.claim(staff, handoff.id)
    engine.desk.post(staff, handoff.id, "Hi, this is Tanaka. How can I help?")
    assert [notice.text for notice in talk.notices()][-1] == "Hi, this is Tanaka. How can I help?"
    assert talk.say("I lost my residence card") == []  # a person holds the conversation: the bot is silent
    engine.desk.resolve(staff, handoff.id)
    assert talk.notices()[-1].text == engine.catalog.text("handoff.satisfaction", "en")
    talk.press(make_payload("rate", handoff=str(handoff.id), score="5"))
    assert talk.topic == "rate" and engine.store.handoffs[handoff.id].satisfaction == 5


def test_switching_language_in_a_form_asks_again_in_the_new_language(conversation: Conversation) -> None:
    profile = conversation.engine.services.profile
    conversation.say("ごみの日")
    assert conversation.language == "ja"
    conversation.say("英語で")
    assert conversation.language == "en"
    assert conversation.texts[0] == "OK, I'll answer in English from now on."
    assert conversation.texts[1].startswith("Which district")
    conversation.press(profile.value("districts.kita.name", "en"))
    assert profile.value("districts.kita.burnable", "en") in conversation.texts[0]
    assert conversation.language == "en"


def test_secret_slots_go_through_the_secure_page_and_reach_the_effect_only(conversations: Conversations) -> None:
    handler = RecordingEffectHandler(kind="library.renew", reply_key="thanks.reply")

    def submit(turn: Turn, values: Mapping[str, str]) -> None:
        turn.effects.append(Effect(kind="library.renew", params={"branch": values["branch"]},
                                   secret=sealed_id(values["card"])))
        turn.say("form.cancelled")

    form = Form(name="renew_card", submit=submit, slots=(
        Slot(name="branch", prompt_key="garbage_day.ask_district", extract=lambda turn: turn.entity("branch")),
        Slot(name="card", secret=True), Slot(name="pin", secret=True)))
    engine = conversations(rules=[("renew my card", "renew_card")], forms={"renew_card": form}, effects=[handler])
    talk = engine.conversation("library", language="en")
    talk.say("renew my card")
    talk.say(make_payload("inform", branch="central"))
    assert talk.texts == [engine.catalog.text("form.secure_prompt", "en")]
    token = talk.replies[0].links[0].url.removeprefix("/secure/")
    page = engine.secure_forms.describe(token)
    assert page is not None and [(f.name, f.password) for f in page.fields] == [("card", False), ("pin", True)]
    assert engine.secure_forms.submit(token, {"card": "LIB-99887766", "pin": "8642"})
    assert not engine.secure_forms.submit(token, {"card": "LIB-99887766", "pin": "8642"})  # the link works once
    assert [notice.text for notice in talk.notices()] == [engine.catalog.text("form.cancelled", "en")]
    assert talk.run_effects() == 1
    [request] = handler.requests
    assert request.params == {"branch": "central"}
    assert request.secrets == {"card": "LIB-99887766", "pin": "8642"}
    assert engine.store.sealed == {}  # discarded once the effect ended
    assert "8642" not in str(talk) and "8642" not in repr(engine.store.load_state(talk.conversation_id or ""))
