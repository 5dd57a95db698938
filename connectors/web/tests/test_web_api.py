"""The JSON API: answers, transcripts, and clear errors for bad input that store nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient


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
