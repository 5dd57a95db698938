"""Rasa's REST channel answers recorded Rasa web-client requests in Rasa's response shape."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

PAYLOADS = Path(__file__).parent / "payloads"


def recorded(name: str) -> dict[str, object]:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def test_recorded_rasa_request_gets_rasa_shaped_replies(client: TestClient) -> None:
    response = client.post("/webhooks/rest/webhook", json=recorded("rasa_webchat_request.json"))
    assert response.status_code == 200
    messages = response.json()
    assert isinstance(messages, list) and messages
    first = messages[0]
    assert first["recipient_id"] == "5f8c2a1e-rasa-webchat"
    assert "図書館案内" in first["text"]
    assert all(set(button) == {"title", "payload"} for button in first["buttons"])
    assert {"title": "開館時間", "payload": "/library_hours"} in first["buttons"]


def test_a_button_payload_from_a_rasa_client_answers_that_topic_with_links(client: TestClient) -> None:
    messages = client.post("/webhooks/rest/webhook", json=recorded("rasa_button_request.json")).json()
    assert "Central Library" in messages[0]["text"]
    assert any(m["text"].startswith("[") and "](https://" in m["text"] for m in messages[1:])


def test_rasa_channel_refuses_empty_messages_clearly(client: TestClient) -> None:
    response = client.post("/webhooks/rest/webhook", json={"sender": "s", "message": "  "})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "empty_message"


def test_rasa_transcript_shows_the_channel(client: TestClient) -> None:
    client.post("/webhooks/rest/webhook", json=recorded("rasa_webchat_request.json"))
    transcript = client.get("/api/v1/conversations/library/5f8c2a1e-rasa-webchat").json()
    assert {m["channel"] for m in transcript["messages"]} == {"rasa"}
