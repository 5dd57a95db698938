"""The JSON API: answers, transcripts, and clear errors for bad input that store nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.app import Components, create_app
from bot.types import InboundMessage
from tests.fakes import RuleNlu
from tests.shared_fixtures import set_desk_open


def post(client: TestClient, **body: object) -> tuple[int, dict[str, object]]:
    response = client.post("/api/v1/messages", json=body)
    return response.status_code, response.json()


def test_health(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok", "bots": ["city_hall", "residents", "library"]}


def test_message_gets_replies_language_topic_and_confidence(client: TestClient) -> None:
    status, body = post(client, bot="residents", sender="u1", text="consultation desk hours?", lang=None)
    assert status == 200
    assert body["language"] == "en" and body["topic"] == "multilingual_consultation"
    assert 0 < body["confidence"] <= 1  # type: ignore[operator]
    assert body["replies"] and "text" in body["replies"][0]  # type: ignore[index]


def test_transcript_keeps_both_sides(client: TestClient) -> None:
    post(client, bot="library", sender="u9", text="opening hours?")
    messages = client.get("/api/v1/conversations/library/u9").json()["messages"]
    assert [m["direction"] for m in messages] == ["in", "out"]
    assert messages[0]["text"] == "opening hours?" and messages[1]["reply"]["text"]


def test_bad_input_is_refused_clearly_and_nothing_is_stored(client: TestClient) -> None:
    cases = [
        ({"bot": "zoo", "sender": "u1", "text": "hi"}, 404, "unknown_bot"),
        ({"bot": "library", "sender": "u1", "text": "   "}, 422, "empty_message"),
        ({"bot": "library", "sender": "u1", "text": "x" * 5001}, 413, "message_too_long"),
        ({"bot": "library", "sender": "u1", "text": "hi", "lang": "klingon"}, 422, "unsupported_language"),
        ({"bot": "library", "sender": "u1", "text": 42}, 422, "invalid_request"),
        ({"bot": "library", "sender": "u1"}, 422, "invalid_request"),
    ]
    for body, status, code in cases:
        response = client.post("/api/v1/messages", json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
        assert response.json()["error"]["message"]
    assert client.get("/api/v1/conversations/library/u1").json()["messages"] == []


def test_malformed_json_and_huge_bodies(client: TestClient) -> None:
    broken = client.post("/api/v1/messages", content=b'{"bot": "library", "text": ', headers={
        "content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "malformed_json"
    huge = client.post("/api/v1/messages", content=b"x" * 10_000_000, headers={"content-type": "application/json"})
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "request_too_large"


@pytest.fixture
def desk_app(build: Callable[..., Components], rule_nlu: RuleNlu) -> Iterator[tuple[TestClient, Components]]:
    """A client and the components of an app whose staff desk is open whatever the clock says."""
    components = build(nlu=rule_nlu)
    set_desk_open(components)
    with TestClient(create_app(components.config, components=components)) as test_client:
        yield test_client, components


def test_updates_return_what_staff_wrote_after_the_given_id(desk_app: tuple[TestClient, Components]) -> None:
    client, components = desk_app
    post(client, bot="residents", sender="u5", text="staff please", lang="en")
    staff = components.accounts.create_user("sato", "password-1", "staff", display_name="佐藤", language="ja")
    [handoff] = components.desk.queue(staff)
    components.desk.claim(staff, handoff["id"])
    components.desk.post(staff, handoff["id"], "", canned="hello")

    def updates(after: int, channel: str = "web") -> list[dict[str, Any]]:
        response = client.get("/api/v1/conversations/residents/u5/updates", params={"after": after, "channel": channel})
        assert response.status_code == 200
        return list(response.json()["messages"])

    joined, written = updates(after=0)
    assert (joined["role"], written["role"]) == ("system", "staff")
    assert written["reply"]["author"] == "佐藤" and written["direction"] == "out"
    assert [m["id"] for m in updates(after=joined["id"])] == [written["id"]]
    assert updates(after=written["id"]) == []
    assert updates(after=0, channel="kiosk") == []  # the conversation is on the web channel
    transcript = client.get("/api/v1/conversations/residents/u5").json()["messages"]
    assert [m["role"] for m in transcript] == ["resident", "bot", "system", "staff"]  # restored after a reload


def test_updates_are_only_for_browser_channels(desk_app: tuple[TestClient, Components]) -> None:
    client, _components = desk_app
    line = client.get("/api/v1/conversations/residents/u5/updates", params={"channel": "line", "after": 0})
    assert line.status_code == 422 and line.json()["error"]["code"] == "unsupported_channel"
    assert client.get("/api/v1/conversations/zoo/u5/updates").json()["error"]["code"] == "unknown_bot"


def test_the_transcript_never_returns_line_messages(desk_app: tuple[TestClient, Components]) -> None:
    client, components = desk_app
    components.engine.handle(InboundMessage(bot="library", channel="line", sender="u7", text="opening hours by LINE"))
    post(client, bot="library", sender="u7", text="opening hours?")
    messages = client.get("/api/v1/conversations/library/u7").json()["messages"]
    assert {m["channel"] for m in messages} == {"web"} and len(messages) == 2
    assert all("LINE" not in m["text"] for m in messages)
