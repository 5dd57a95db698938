"""The staff desk's JSON API end to end: a Vietnamese resident, Japanese staff, an interpreter.

The resident talks through the engine (as every channel does); staff use the HTTP API.
Machine translation uses tiny Argos packages that swap one greeting: こんにちは ↔ hello ↔ chào.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from bot.app import Components, create_app
from bot.types import InboundMessage, TurnResult
from tests.fakes import RuleNlu
from tests.shared_fixtures import Clock, install_tiny_mt, set_desk_open

TOKYO = ZoneInfo("Asia/Tokyo")
TUESDAY_MORNING = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)
SUNDAY_NIGHT = datetime(2026, 11, 22, 23, 0, tzinfo=TOKYO)
RESIDENT = "resident-vi-000000000001"


def close_the_desk(desk: Desk) -> None:
    """Sunday night in Tokyo, with the desk's hours from the profile again."""
    set_desk_open(desk.components, False)
    desk.clock.moment = SUNDAY_NIGHT


@dataclass
class Desk:
    """An app with a staff member, an interpreter and an admin, and a settable clock."""

    components: Components
    client: TestClient
    clock: Clock

    def say(self, text: str, language: str | None = None, bot: str = "residents") -> TurnResult:
        return self.components.engine.handle(
            InboundMessage(bot=bot, channel="web", sender=RESIDENT, text=text, language=language))

    def pushed(self, after: int = 0) -> list[dict[str, Any]]:
        response = self.client.get(f"/api/v1/conversations/residents/{RESIDENT}/updates", params={"after": after})
        assert response.status_code == 200
        return list(response.json()["messages"])

    def login(self, username: str, password: str) -> dict[str, str]:
        response = self.client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}


@pytest.fixture
def desk(build: Callable[..., Components], rule_nlu: RuleNlu, database_url: str,
         tiny_mt_archives: list[Path]) -> Iterator[Desk]:
    # The real time (handoffs are stamped by the database clock); the desk is opened explicitly.
    clock = Clock(datetime.now(UTC))
    rule_nlu.add("chào", "greet")
    components = build(database_url, nlu=rule_nlu, now=clock)
    set_desk_open(components)
    install_tiny_mt(tiny_mt_archives, components.config.data_path)
    accounts = components.accounts
    accounts.create_user("sato", "password-1", "staff", display_name="佐藤", language="ja")
    accounts.create_user("suzuki", "password-3", "staff", display_name="鈴木", language="ja")
    accounts.create_user("nguyen", "password-2", "interpreter", display_name="Nguyen", language="ja",
                         interprets=("vi",))
    with TestClient(create_app(components.config, components=components)) as client:
        yield Desk(components, client, clock)


def test_the_console_api_needs_a_login_and_the_right_role(desk: Desk) -> None:
    desk.say("staff please", language="vi")
    assert desk.client.get("/api/v1/handoffs").status_code == 401
    assert desk.client.get("/api/v1/handoffs", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    wrong = desk.client.post("/api/v1/auth/login", json={"username": "sato", "password": "wrong-password"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_credentials"
    interpreter = desk.login("nguyen", "password-2")
    assert desk.client.get("/api/v1/handoffs", headers=interpreter).json()["handoffs"] == []
    staff = desk.login("sato", "password-1")
    handoff_id = desk.client.get("/api/v1/handoffs", headers=staff).json()["handoffs"][0]["id"]
    assert desk.client.post(f"/api/v1/handoffs/{handoff_id}/claim", headers=interpreter).status_code == 403
    assert desk.client.get(f"/api/v1/handoffs/{handoff_id}", headers=interpreter).status_code == 403
    assert desk.client.post(f"/api/v1/handoffs/{handoff_id}/resolve", headers=interpreter).status_code == 403


def test_login_sets_a_cookie_that_works_until_logout(desk: Desk) -> None:
    response = desk.client.post("/api/v1/auth/login", json={"username": "sato", "password": "password-1"})
    assert "httponly" in response.headers["set-cookie"].lower()
    assert desk.client.get("/api/v1/auth/me").json()["user"]["display_name"] == "佐藤"
    assert desk.client.post("/api/v1/auth/logout").status_code == 204
    assert desk.client.get("/api/v1/auth/me").status_code == 401
    token = response.json()["token"]
    assert desk.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_vietnamese_resident_staff_and_an_interpreter_each_read_their_own_language(desk: Desk) -> None:
    asked = desk.say("staff please", language="vi")
    assert "5 phút" in asked.replies[0].text  # the expected wait, in Vietnamese
    staff = desk.login("sato", "password-1")
    queue = desk.client.get("/api/v1/handoffs", headers=staff).json()["handoffs"]
    assert [(h["bot"], h["sender"], h["status"], h["language"]) for h in queue] == [
        ("residents", RESIDENT, "queued", "vi")]
    desk.clock.moment = datetime.now(UTC) + timedelta(minutes=6)
    assert 360 <= desk.client.get("/api/v1/handoffs", headers=staff).json()["handoffs"][0]["waiting_seconds"] < 400
    handoff_id = queue[0]["id"]

    claimed = desk.client.post(f"/api/v1/handoffs/{handoff_id}/claim", headers=staff)
    assert claimed.json()["handoff"]["status"] == "active"
    assert desk.client.post(f"/api/v1/handoffs/{handoff_id}/claim",
                            headers=desk.login("suzuki", "password-3")).status_code == 409
    joined = desk.pushed()
    assert [m["role"] for m in joined] == ["system"] and "佐藤" in joined[0]["text"]

    sent = desk.client.post(f"/api/v1/handoffs/{handoff_id}/messages", headers=staff, json={"text": "こんにちは"})
    assert sent.status_code == 201
    to_resident = desk.pushed(after=joined[-1]["id"])[0]
    assert to_resident["role"] == "staff" and "chào" in to_resident["text"]
    assert to_resident["reply"]["machine_translated"] is True and to_resident["reply"]["original"] == "こんにちは"

    answer = desk.say("chào", language="vi")
    assert answer.replies == ()  # staff hold the conversation: the bot is silent
    room = desk.client.get(f"/api/v1/handoffs/{handoff_id}", headers=staff).json()
    resident_line = [m for m in room["messages"] if m["role"] == "resident"][-1]
    assert "こんにちは" in resident_line["text"] and resident_line["machine_translated"]
    assert resident_line["original"] == "chào" and resident_line["original_language"] == "vi"
    own_line = [m for m in room["messages"] if m["role"] == "staff"][-1]
    assert own_line["text"] == "こんにちは" and not own_line["machine_translated"] and own_line["author"] == "佐藤"

    interpreters = desk.client.get("/api/v1/staff/interpreters", params={"language": "vi"}, headers=staff).json()
    assert interpreters["interpreters"][0]["username"] == "nguyen"
    invited = desk.client.post(f"/api/v1/handoffs/{handoff_id}/participants", headers=staff,
                               json={"role": "interpreter", "user": "nguyen"})
    assert invited.status_code == 201
    interpreter = desk.login("nguyen", "password-2")
    assert [h["id"] for h in desk.client.get("/api/v1/handoffs", headers=interpreter).json()["handoffs"]] == [
        handoff_id]
    said = desk.client.post(f"/api/v1/handoffs/{handoff_id}/messages", headers=interpreter,
                            json={"text": "chào", "language": "vi"})
    assert said.status_code == 201
    latest = desk.pushed(after=to_resident["id"])
    assert [m["role"] for m in latest] == ["system", "interpreter"]
    assert latest[-1]["text"] == "chào" and not latest[-1]["reply"].get("machine_translated")
    staff_view = desk.client.get(f"/api/v1/handoffs/{handoff_id}", headers=staff).json()["messages"][-1]
    assert staff_view["role"] == "interpreter" and "こんにちは" in staff_view["text"]
    assert staff_view["original"] == "chào"

    assert desk.client.post(f"/api/v1/handoffs/{handoff_id}/notes", headers=staff,
                            json={"text": "在留カードの住所変更"}).status_code == 201
    assert desk.client.put(f"/api/v1/handoffs/{handoff_id}/labels", headers=staff,
                           json={"labels": ["住所", " 住所 ", "在留"]}).json()["handoff"]["labels"] == ["住所", "在留"]
    transcript = desk.client.get(f"/api/v1/handoffs/{handoff_id}/transcript", headers=staff)
    assert "attachment" in transcript.headers["content-disposition"]
    assert "佐藤: こんにちは" in transcript.text and "(vi) chào" in transcript.text

    resolved = desk.client.post(f"/api/v1/handoffs/{handoff_id}/resolve", headers=staff)
    assert resolved.json()["handoff"]["status"] == "resolved"
    assert desk.client.get("/api/v1/handoffs", headers=staff).json()["handoffs"] == []
    closing = desk.pushed(after=latest[-1]["id"])
    rating = closing[-1]["reply"]
    assert [b["title"] for b in rating["buttons"]] == ["1", "2", "3", "4", "5"]
    thanks = desk.say(rating["buttons"][4]["payload"])
    assert thanks.replies[0].text == desk.components.catalog.text("handoff.satisfaction_thanks", "vi")
    closed = desk.client.get("/api/v1/handoffs", params={"include_closed": "true"}, headers=staff).json()
    assert closed["handoffs"][0]["satisfaction"] == 5
    assert desk.say("chào").topic == "greet"  # the bot answers again


def test_without_a_translation_model_the_resident_gets_the_original_and_a_note(
    build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    components = build(nlu=rule_nlu, now=Clock(TUESDAY_MORNING))  # open hours
    components.accounts.create_user("sato", "password-1", "staff", display_name="佐藤")
    with TestClient(create_app(components.config, components=components)) as client:
        desk = Desk(components, client, Clock(TUESDAY_MORNING))
        desk.say("staff please", language="pt")
        staff = desk.login("sato", "password-1")
        handoff_id = client.get("/api/v1/handoffs", headers=staff).json()["handoffs"][0]["id"]
        client.post(f"/api/v1/handoffs/{handoff_id}/claim", headers=staff)
        assert client.post(f"/api/v1/handoffs/{handoff_id}/messages", headers=staff,
                           json={"text": "少々お待ちください"}).status_code == 201
        messages = desk.pushed()
        assert messages[-2]["text"] == "少々お待ちください"
        assert messages[-1]["text"] == components.catalog.text("handoff.not_translated", "pt")
        canned = client.post(f"/api/v1/handoffs/{handoff_id}/messages", headers=staff, json={"canned": "one_moment"})
        assert canned.status_code == 201
        assert desk.pushed()[-1]["text"] == components.catalog.text("canned.one_moment", "pt")  # curated


def test_out_of_hours_the_resident_leaves_a_callback_number_and_gets_a_ticket(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    close_the_desk(desk)
    offer = desk.say("staff please", language="en")
    assert "Tuesday to Saturday" in offer.replies[0].text
    payloads = [b.payload for b in offer.replies[0].buttons]
    asked = desk.say(payloads[0])  # leave a phone number
    assert "phone number" in asked.replies[0].text
    assert "doesn't look like" in desk.say("my number is 12345").replies[0].text
    with caplog.at_level("INFO"):
        confirm = desk.say("０９０-１２３４-５６７８")
    assert "09012345678" in confirm.replies[0].text
    ticket_reply = desk.say(confirm.replies[0].buttons[0].payload)
    assert "ticket number is R-" in ticket_reply.replies[0].text
    assert all("5678" not in record.getMessage() for record in caplog.records)
    staff = desk.login("sato", "password-1")
    ticket = desk.client.get("/api/v1/handoffs", headers=staff).json()["handoffs"][0]
    assert ticket["status"] == "callback" and ticket["callback_phone"] == "09012345678"
    assert ticket["ticket"] in ticket_reply.replies[0].text
    assert desk.say("chào").topic == "greet"  # the bot still answers meanwhile
    with desk.components.store._sessions() as session:
        from sqlalchemy import select

        from bot.storage.models import Consent

        assert session.scalars(select(Consent.kind)).all() == ["callback_phone"]


def test_out_of_hours_a_message_ticket_and_declining(desk: Desk) -> None:
    close_the_desk(desk)
    offer = desk.say("staff please", language="en")
    desk.say(offer.replies[0].buttons[1].payload)  # leave a message
    ticket = desk.say("I need to change my address on the residence card")
    assert "ticket number is" in ticket.replies[0].text
    staff = desk.login("sato", "password-1")
    [item] = desk.client.get("/api/v1/handoffs", headers=staff).json()["handoffs"]
    assert item["callback_message"] == "I need to change my address on the residence card"
    again = desk.say("staff please")
    declined = desk.say(again.replies[0].buttons[2].payload)
    assert "nothing was saved" in declined.replies[0].text
    assert len(desk.client.get("/api/v1/handoffs", headers=staff).json()["handoffs"]) == 1


def test_back_to_the_guide_cancels_a_waiting_request_but_not_a_live_one(desk: Desk) -> None:
    queued = desk.say("staff please", language="en")
    waiting = desk.say("hello? anyone?")
    assert "number 1 in the queue" in waiting.replies[0].text
    back = desk.say(queued.replies[0].buttons[0].payload)
    assert "cancelled the request" in back.replies[0].text
    assert desk.say("chào").topic == "greet"

    desk.say("staff please")
    staff = desk.login("sato", "password-1")
    handoff_id = desk.client.get("/api/v1/handoffs", headers=staff).json()["handoffs"][0]["id"]
    desk.client.post(f"/api/v1/handoffs/{handoff_id}/claim", headers=staff)
    assert "still helping you" in desk.say("/back_to_bot").replies[0].text
    desk.clock.moment = datetime.now(UTC) + timedelta(minutes=16)  # staff went quiet
    assert "has not answered for a while" in desk.say("/back_to_bot").replies[0].text
    assert desk.client.get("/api/v1/handoffs", headers=staff).json()["handoffs"] == []


def test_staff_messages_follow_the_residents_current_language(desk: Desk) -> None:
    desk.say("staff please", language="vi")
    staff = desk.login("sato", "password-1")
    handoff_id = desk.client.get("/api/v1/handoffs", headers=staff).json()["handoffs"][0]["id"]
    desk.client.post(f"/api/v1/handoffs/{handoff_id}/claim", headers=staff)
    desk.say("sorry, English is easier for me", language="en")  # the widget's language picker
    desk.client.post(f"/api/v1/handoffs/{handoff_id}/messages", headers=staff, json={"text": "こんにちは"})
    latest = desk.pushed()[-1]
    assert latest["language"] == "en" and "hello" in latest["text"]


def test_staff_read_the_bots_earlier_answers_as_curated_in_their_language(desk: Desk) -> None:
    desk.say("consultation desk", language="vi")
    desk.say("staff please", language="vi")
    staff = desk.login("sato", "password-1")
    handoff_id = desk.client.get("/api/v1/handoffs", headers=staff).json()["handoffs"][0]["id"]
    messages = desk.client.get(f"/api/v1/handoffs/{handoff_id}", headers=staff).json()["messages"]
    answer = next(m for m in messages if m["role"] == "bot")
    japanese = desk.components.knowledge.answer("residents", "multilingual_consultation", "ja")
    assert japanese is not None
    assert answer["text"] == japanese.text and not answer["machine_translated"]
    desk.client.post(f"/api/v1/handoffs/{handoff_id}/claim", headers=staff)
    desk.client.post(f"/api/v1/handoffs/{handoff_id}/messages", headers=staff, json={"text": "こんにちは"})
    mine = desk.client.get(f"/api/v1/handoffs/{handoff_id}", headers=staff).json()["messages"][-1]
    assert mine["text"] == "こんにちは" and "chào" in mine["sent_text"] and mine["sent_language"] == "vi"


def test_guessing_passwords_locks_the_account_for_a_while(desk: Desk) -> None:
    for _attempt in range(5):
        wrong = desk.client.post("/api/v1/auth/login", json={"username": "suzuki", "password": "guess-guess"})
        assert wrong.status_code == 401
    locked = desk.client.post("/api/v1/auth/login", json={"username": "suzuki", "password": "password-3"})
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "too_many_attempts"
    desk.components.accounts.create_user("suzuki", "a-new-password", "staff", replace=True)  # an admin resets it
    assert desk.login("suzuki", "a-new-password")
    assert desk.login("sato", "password-1")  # other accounts were never affected
