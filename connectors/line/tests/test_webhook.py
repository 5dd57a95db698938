"""The LINE webhook on a real engine, talking to a fake Messaging API through the real SDK."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from connectors.line import LineSettings
from connectors.line.render import LABEL_LIMIT, QUICK_REPLY_LIMIT, graphemes
from connectors.line.tests.conftest import CHANNELS, LineApp, recorded
from connectors.line.tests.fake_line import FakeLine
from translations.catalog import Catalog

CITY_USER = "U8f3a2b1c4d5e6f708192a3b4c5d6e7f8"


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages if m["type"] == "text"]


def test_a_signed_message_is_stored_and_answered_with_the_reply_token(line_app: LineApp, fake_line: FakeLine) -> None:
    response = line_app.post("city_hall", recorded("text_message.json"))
    assert response.status_code == 200
    [reply] = fake_line.to("/v2/bot/message/reply")
    assert reply.json["replyToken"] == "7840b71058e24a5d91d9b5726c7512c9"
    assert reply.headers["authorization"] == "Bearer city-hall-access-token"
    assert 1 <= len(reply.json["messages"]) <= 5
    assert fake_line.to("/v2/bot/message/push") == []
    transcript = line_app.components.engine.transcript("city_hall", CITY_USER)
    first = transcript[0]
    assert (first.channel, first.direction, first.text) == ("line", "in", "住民票はどこでもらえますか")
    assert transcript[-1].direction == "out" and transcript[-1].topic == "resident_certificate"


def test_a_wrong_or_missing_signature_is_refused_and_nothing_is_stored(line_app: LineApp, fake_line: FakeLine) -> None:
    payload = recorded("text_message.json")
    wrong = line_app.post("city_hall", payload, signature="bm90IHRoZSByaWdodCBzaWduYXR1cmU=")
    missing = line_app.post("city_hall", payload, signature=None)
    other_secret = line_app.post("city_hall", payload, secret=CHANNELS["library"].secret)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (400, "invalid_signature")
    assert (missing.status_code, missing.json()["error"]["code"]) == (400, "missing_signature")
    assert (other_secret.status_code, other_secret.json()["error"]["code"]) == (400, "invalid_signature")
    assert line_app.components.engine.transcript("city_hall", CITY_USER) == []
    assert fake_line.calls == []


def test_the_consoles_verify_call_gets_200(line_app: LineApp, fake_line: FakeLine) -> None:
    response = line_app.post("city_hall", recorded("verify.json"))
    assert response.status_code == 200
    assert fake_line.calls == []


def test_unknown_bots_and_bots_without_a_line_account_are_not_found(line_app: LineApp) -> None:
    for bot in ("residents", "no_such_bot"):
        response = line_app.post(bot, recorded("verify.json"))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "unknown_bot"


def test_a_redelivered_event_is_answered_once(line_app: LineApp, fake_line: FakeLine) -> None:
    first = recorded("text_message.json")
    again = copy.deepcopy(first)
    again["events"][0]["deliveryContext"]["isRedelivery"] = True
    assert line_app.post("city_hall", first).status_code == 200
    assert line_app.post("city_hall", again).status_code == 200
    assert len(fake_line.to("/v2/bot/message/reply")) == 1
    inbound = [m for m in line_app.components.engine.transcript("city_hall", CITY_USER) if m.direction == "in"]
    assert len(inbound) == 1


def test_an_expired_reply_token_falls_back_to_a_push_to_the_user(line_app: LineApp, fake_line: FakeLine) -> None:
    payload = recorded("text_message.json")
    payload["events"][0]["replyToken"] = "expired-7840b71058e24a5d91d9b5726c7512c9"
    line_app.post("city_hall", payload)
    assert len(fake_line.to("/v2/bot/message/reply")) == 1
    [push] = fake_line.to("/v2/bot/message/push")
    assert push.json["to"] == CITY_USER
    assert push.json["messages"] and push.headers.get("x-line-retry-key")


def test_an_answer_after_the_reply_deadline_is_pushed_without_trying_the_token(
    make_line_app: Callable[..., LineApp], line_settings: LineSettings, fake_line: FakeLine
) -> None:
    app = make_line_app(dataclasses.replace(line_settings, reply_deadline_seconds=0.0))
    app.post("city_hall", recorded("text_message.json"))
    assert fake_line.to("/v2/bot/message/reply") == []
    assert [p.json["to"] for p in fake_line.to("/v2/bot/message/push")] == [CITY_USER]


def test_a_follow_is_greeted_in_the_language_of_the_users_line_app(line_app: LineApp, fake_line: FakeLine) -> None:
    user = recorded("follow.json")["events"][0]["source"]["userId"]
    fake_line.languages[user] = "zh-TW"
    line_app.post("library", recorded("follow.json"))
    assert fake_line.calls[0].path == f"/v2/bot/profile/{user}"
    [reply] = fake_line.to("/v2/bot/message/reply")
    catalog = Catalog.load()
    welcome = catalog.text("greet.welcome", "zh-Hant", bot_name=catalog.text("bot.library.name", "zh-Hant"))
    assert texts(reply.json["messages"])[0] == welcome
    items = reply.json["messages"][-1]["quickReply"]["items"]
    assert 0 < len(items) <= QUICK_REPLY_LIMIT
    assert {"type": "postback", "label": items[0]["action"]["label"], "data": "/library_hours",
            "displayText": items[0]["action"]["displayText"]} == items[0]["action"]


def test_after_an_unfollow_nothing_is_pushed(line_app: LineApp, fake_line: FakeLine) -> None:
    payload = recorded("text_message.json")
    payload["events"][0]["replyToken"] = "expired-7840b71058e24a5d91d9b5726c7512c9"
    payload["events"].append(recorded("unfollow.json")["events"][0])
    assert line_app.post("city_hall", payload).status_code == 200
    assert fake_line.to("/v2/bot/message/push") == []
    inbound = [m for m in line_app.components.engine.transcript("city_hall", CITY_USER) if m.direction == "in"]
    assert [m.text for m in inbound] == ["住民票はどこでもらえますか"]  # still stored and answered in the record


def test_quick_replies_keep_within_lines_limits(line_app: LineApp, fake_line: FakeLine) -> None:
    line_app.post("city_hall", recorded("follow.json"))
    [reply] = fake_line.to("/v2/bot/message/reply")
    items = reply.json["messages"][-1]["quickReply"]["items"]
    assert 0 < len(items) <= QUICK_REPLY_LIMIT
    for item in items:
        assert len(graphemes(item["action"]["label"])) <= LABEL_LIMIT
        assert item["action"]["data"].startswith("/")


def test_a_location_message_reaches_the_engine_with_its_location(line_app: LineApp, fake_line: FakeLine) -> None:
    assert line_app.post("city_hall", recorded("location.json")).status_code == 200
    [inbound] = [m for m in line_app.components.engine.transcript("city_hall", CITY_USER) if m.direction == "in"]
    assert inbound.text == "日本、〒100-0001 よりそい市中央1-1"
    assert inbound.payload["location"] == {
        "latitude": 35.681236, "longitude": 139.767125, "address": "日本、〒100-0001 よりそい市中央1-1",
    }
    assert len(fake_line.to("/v2/bot/message/reply")) == 1


def test_a_postback_presses_the_button_it_came_from(line_app: LineApp, fake_line: FakeLine) -> None:
    line_app.post("library", recorded("postback.json"))
    user = recorded("postback.json")["events"][0]["source"]["userId"]
    transcript = line_app.components.engine.transcript("library", user)
    assert transcript[0].text == "/library_hours"
    assert transcript[-1].topic == "library_hours"
    [reply] = fake_line.to("/v2/bot/message/reply")
    assert reply.json["replyToken"] == "b60d432864f44d079f6d8efe86cf404b"


def test_the_language_switch_offers_every_language_even_beyond_13_quick_replies(
    line_app: LineApp, fake_line: FakeLine
) -> None:
    payload = recorded("postback.json")
    payload["events"][0]["postback"]["data"] = "/change_language"
    line_app.post("library", payload)
    [reply] = fake_line.to("/v2/bot/message/reply")
    flex = [m for m in reply.json["messages"] if m["type"] == "flex"]
    offered = [
        button["action"]["data"]
        for message in flex for bubble in message["contents"]["contents"] for button in bubble["body"]["contents"]
    ]
    languages = line_app.components.config.languages
    assert offered == [f'/change_language{{"language":"{code}"}}' for code in languages]


def test_a_sticker_gets_a_polite_note_in_the_users_language_and_nothing_is_stored(
    line_app: LineApp, fake_line: FakeLine
) -> None:
    fake_line.languages[CITY_USER] = "pt-BR"
    line_app.post("city_hall", recorded("sticker.json"))
    [reply] = fake_line.to("/v2/bot/message/reply")
    assert texts(reply.json["messages"]) == [Catalog.load().text("line.unsupported_message", "pt")]
    assert line_app.components.engine.transcript("city_hall", CITY_USER) == []


def test_slow_answers_show_the_loading_animation_first(
    make_line_app: Callable[..., LineApp], line_settings: LineSettings, fake_line: FakeLine
) -> None:
    app = make_line_app(dataclasses.replace(line_settings, loading_after_seconds=0.0))
    app.post("city_hall", recorded("text_message.json"))
    paths = [c.path for c in fake_line.calls]
    assert paths == ["/v2/bot/chat/loading/start", "/v2/bot/message/reply"]
    assert fake_line.calls[0].json == {"chatId": CITY_USER, "loadingSeconds": 20}


def test_a_refused_rich_reply_is_sent_again_as_text(line_app: LineApp, fake_line: FakeLine) -> None:
    payload = recorded("postback.json")
    payload["events"][0]["postback"]["data"] = "/change_language"
    payload["events"][0]["replyToken"] = "plain-only-b60d432864f44d079f6d8efe86cf404b"
    line_app.post("library", payload)
    first, second = fake_line.to("/v2/bot/message/reply")
    assert any(m["type"] == "flex" for m in first.json["messages"])
    assert {m["type"] for m in second.json["messages"]} == {"text"}
    assert fake_line.to("/v2/bot/message/push") == []


def test_the_app_serves_line_webhooks_for_bots_with_credentials(
    build: Any, rule_nlu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from bot.app import create_app

    monkeypatch.setenv("LINE_LIBRARY_CHANNEL_SECRET", "s3cret")
    monkeypatch.setenv("LINE_LIBRARY_ACCESS_TOKEN", "token")
    components = build(nlu=rule_nlu)
    client = TestClient(create_app(components.config, components=components))
    assert client.post("/line/library/webhook", content=b'{"events": []}').json()["error"]["code"] == (
        "missing_signature")
    assert client.post("/line/city_hall/webhook", content=b'{"events": []}').status_code == 404
