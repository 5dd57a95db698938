"""The dialogue engine as a resident experiences it (rule NLU, real store, KB and catalogs)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.app import Components
from bot.skill_registry import topic_skill
from bot.types import InboundMessage, TurnResult
from nlu.types import Candidate
from tests.fakes import RuleNlu


def say(components: Components, text: str, *, bot: str = "city_hall", sender: str = "u1",
        language: str | None = None, external_id: str | None = None) -> TurnResult:
    message = InboundMessage(bot=bot, channel="web", sender=sender, text=text, language=language,
                             external_id=external_id)
    return components.engine.handle(message)


def button_payloads(result: TurnResult) -> list[str]:
    return [b.payload for reply in result.replies for b in reply.buttons]


def test_greeting_in_japanese_offers_the_menu(build: Callable[..., Components], rule_nlu: RuleNlu) -> None:
    components = build(nlu=rule_nlu)
    result = say(components, "こんにちは")
    assert result.language == "ja" and result.topic == "greet"
    assert "市役所案内" in result.replies[0].text
    assert "/resident_certificate" in button_payloads(result)


def test_faq_answer_has_city_profile_facts_in_the_users_language(
    build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    components = build(nlu=rule_nlu)
    ja = say(components, "住民票がほしい")
    en = say(components, "how do I get a juminhyo", sender="u2")
    fee_ja = components.knowledge.profile.value("fees.resident_certificate", "ja")
    fee_en = components.knowledge.profile.value("fees.resident_certificate", "en")
    assert ja.topic == "resident_certificate" and fee_ja in ja.replies[-1].text
    assert en.language == "en" and fee_en in en.replies[-1].text
    assert "{" not in en.replies[-1].text  # every placeholder was filled


def test_garbage_day_form_reprompts_then_answers_from_the_profile(
    build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    components = build(nlu=rule_nlu)
    first = say(components, "ごみの日を知りたい")
    assert '/inform{"district":"kita"}' in button_payloads(first)
    wrong = say(components, "ええと")
    assert wrong.topic == "garbage_collection_day"
    assert "分かりませんでした" in wrong.replies[0].text  # re-prompt, not a generic fallback
    done = say(components, '/inform{"district":"kita"}')
    days = components.knowledge.profile.value("districts.kita.burnable", "ja")
    assert days in done.replies[0].text
    assert say(components, "ええと").topic == "out_of_scope"  # the form is over


def test_a_district_typed_in_the_first_message_skips_the_question(
    build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    components = build(nlu=rule_nlu)
    result = say(components, "北地区のごみの日は？")
    assert components.knowledge.profile.value("districts.kita.paper", "ja") in result.replies[0].text


def test_restart_cancels_a_form(build: Callable[..., Components], rule_nlu: RuleNlu) -> None:
    components = build(nlu=rule_nlu)
    say(components, "ごみの日")
    restarted = say(components, "最初からお願いします")
    assert restarted.topic == "restart"
    assert say(components, "北地区").topic == "out_of_scope"  # no longer answering the form


def test_change_language_mid_form_reprompts_in_the_new_language(
    build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    components = build(nlu=rule_nlu)
    say(components, "ごみの日")
    switched = say(components, "英語で")
    assert switched.language == "en"
    texts = [r.text for r in switched.replies]
    assert texts[0] == "OK, I'll answer in English from now on."
    assert texts[1].startswith("Which district")
    answered = say(components, '/inform{"district":"kita"}')
    assert "Tuesday and Friday" in answered.replies[0].text


def test_explicit_language_beats_stored_preference_beats_detection(
    build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    components = build(nlu=rule_nlu)
    assert say(components, "hello there").language == "en"  # detected
    assert say(components, "こんにちは").language == "ja"  # detection follows the resident
    assert say(components, "こんにちは", language="vi").language == "vi"  # explicit choice
    assert say(components, "hello there").language == "vi"  # the choice is remembered


#: A Tuesday morning in Japan: every demo desk is open.
OPEN_HOURS = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_two_misses_offer_staff_and_accepting_stores_a_handoff_request(
    build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    components = build(nlu=rule_nlu, now=lambda: OPEN_HOURS)
    first = say(components, "blah blah")
    assert first.topic == "out_of_scope" and "/talk_to_staff" not in button_payloads(first)
    second = say(components, "blah again")
    assert "/talk_to_staff" in button_payloads(second)
    accepted = say(components, "/talk_to_staff")
    assert "about 5 minutes" in accepted.replies[0].text
    assert "/back_to_bot" in button_payloads(accepted)
    from sqlalchemy import select

    from bot.storage.models import HandoffRequest

    with components.store._sessions() as session:
        requests = session.scalars(select(HandoffRequest)).all()
    assert [(r.kind, r.reason, r.status) for r in requests] == [("staff", "misses", "queued")]


def test_low_confidence_asks_did_you_mean_with_candidates(build: Callable[..., Components]) -> None:
    nlu = RuleNlu()
    nlu.candidates["certificate?"] = (Candidate("resident_certificate", 0.4), Candidate("seal_certificate", 0.3))
    components = build(nlu=nlu)
    result = say(components, "certificate?")
    assert button_payloads(result) == ["/resident_certificate", "/seal_certificate"]


def test_a_crashing_skill_apologises_and_keeps_the_message(
    build: Callable[..., Components], rule_nlu: RuleNlu, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_turn: object) -> None:
        raise RuntimeError("database of fees is on fire")

    components = build(nlu=rule_nlu, skills=[topic_skill("greet", broken)])
    secret = "こんにちは 私の電話は090-1234-5678"
    with caplog.at_level(logging.INFO):
        result = say(components, secret)
    assert "申し訳ありません" in result.replies[0].text
    assert all("090-1234-5678" not in record.getMessage() for record in caplog.records)
    assert any(result.conversation_id in record.getMessage() for record in caplog.records)
    transcript = components.engine.transcript("city_hall", "u1")
    assert [(e.text, e.status) for e in transcript] == [(secret, "failed"), (result.replies[0].text, "pending")]


def test_a_redelivered_message_is_answered_once(build: Callable[..., Components], rule_nlu: RuleNlu) -> None:
    components = build(nlu=rule_nlu)
    first = say(components, "こんにちは", external_id="evt-1")
    again = say(components, "こんにちは", external_id="evt-1")
    assert first.replies and again.duplicate
    assert [r.text for r in again.replies] == [r.text for r in first.replies]  # the stored answer, sent again
    assert len(components.engine.transcript("city_hall", "u1")) == 2  # one in, one out


def test_buttons_cannot_reach_another_bots_topics(build: Callable[..., Components], rule_nlu: RuleNlu) -> None:
    components = build(nlu=rule_nlu)
    result = say(components, "/library_hours", bot="city_hall")
    assert result.topic == "out_of_scope"


def test_library_task_without_live_service_answers_where_and_how(
    build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    components = build(nlu=rule_nlu)
    result = say(components, "/renew_loan", bot="library", language="en")
    assert components.knowledge.profile.value("library.catalog_url", "en") in result.replies[0].text
    assert "PIN" in result.replies[0].text


def test_when_the_nlu_is_unsure_kb_search_suggests_topics(build: Callable[..., Components]) -> None:
    class Search:
        def search(self, bot: str, text: str, k: int = 3) -> list[tuple[str, float]]:
            return [("seal_certificate", 2.0), ("library_hours", 1.5), ("resident_certificate", 1.0)]

    components = build(nlu=RuleNlu(), search=Search())
    result = say(components, "hanko no touroku")
    assert result.topic == "out_of_scope"
    # the other bot's topic is never offered
    assert button_payloads(result) == ["/seal_certificate", "/resident_certificate"]


def test_a_shared_location_does_not_change_the_conversation_language(
    build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    from bot.types import Location

    components = build(nlu=rule_nlu)

    def line(text: str, location: Location | None = None) -> TurnResult:
        return components.engine.handle(InboundMessage("city_hall", "line", "u1", text, location=location))

    assert line("hello there").language == "en"
    address = "よりそい市中央1-1-1"  # Japanese text: would be detected as ja
    assert line(address, Location(35.0, 139.0, address)).language == "en"
    assert line("hello again").language == "en"
