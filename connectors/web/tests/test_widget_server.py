"""The widget's server side: WebSocket frames, answered-once resends, UI strings, demo page, static files."""

from __future__ import annotations

import json
import secrets
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.sync.client import ClientConnection, connect

from bot.types import ChannelPolicy
from connectors.web.tests.live_server import LiveApp
from connectors.web.tests.test_widget_handoff_browser import open_desk  # noqa: F401  (a fixture)
from connectors.web.widget import WIDGET_KEYS, WebWidgetConnector
from languages import browser_language
from translations.catalog import Catalog

PAYLOADS = Path(__file__).parent / "payloads"
SENDER = "f3a1c9e27b6d4e0a9c8b7d6e5f4a3b2c"
OTHER = "a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2"
THIRD = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def recorded(name: str) -> dict[str, object]:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def inbound(client: TestClient, bot: str, sender: str) -> list[dict[str, object]]:
    messages = client.get(f"/api/v1/conversations/{bot}/{sender}").json()["messages"]
    return [m for m in messages if m["direction"] == "in"]


def test_websocket_answers_a_recorded_widget_frame(widget_client: TestClient) -> None:
    frame = recorded("ws_message_frame.json")
    with widget_client.websocket_connect("/ws/chat") as ws:
        ws.send_json(recorded("ws_hello_frame.json"))
        assert ws.receive_json() == {"type": "ready"}
        ws.send_json(frame)
        reply = ws.receive_json()
    assert reply["type"] == "reply" and reply["reply_to"] == frame["id"]
    assert reply["language"] == "vi" and reply["duplicate"] is False
    assert "bảo hiểm y tế quốc dân" in reply["replies"][0]["text"]
    assert reply["replies"][0]["buttons"]


def test_a_resent_message_is_answered_once_with_the_stored_answer(widget_client: TestClient) -> None:
    frame = {"id": "0b8f5c1e-1111-4c1d-9a0e-2c7f3d9b6a51", "bot": "library", "sender": SENDER,
             "text": "opening hours?", "lang": "en"}
    with widget_client.websocket_connect("/ws/chat") as ws:
        ws.send_json(frame)
        first = ws.receive_json()
    with widget_client.websocket_connect("/ws/chat") as ws:  # reconnected: the widget resends what it had queued
        ws.send_json(frame)
        again = ws.receive_json()
    assert first["duplicate"] is False and again["duplicate"] is True
    assert again["replies"] == first["replies"] and again["replies"]
    assert [m["text"] for m in inbound(widget_client, "library", SENDER)] == ["opening hours?"]


def test_http_fallback_uses_the_same_id_and_keeps_button_titles(widget_client: TestClient) -> None:
    body = {"bot": "residents", "sender": SENDER, "text": "/emergency_numbers", "title": "Emergency numbers",
            "id": "7d9e2f4a-2222-4b3c-8d1e-5f6a7b8c9d0e", "lang": "en"}
    first = widget_client.post("/api/v1/messages", json=body).json()
    again = widget_client.post("/api/v1/messages", json=body).json()
    assert first["duplicate"] is False and again["duplicate"] is True and again["replies"] == first["replies"]
    [stored] = inbound(widget_client, "residents", SENDER)
    assert stored["title"] == "Emergency numbers" and stored["client_id"] == body["id"]


def test_bad_frames_get_error_frames_and_the_socket_stays_open(widget_client: TestClient) -> None:
    with widget_client.websocket_connect("/ws/chat") as ws:
        ws.send_text("{not json")
        assert ws.receive_json()["error"]["code"] == "invalid_frame"
        ws.send_json({"id": "abcdef12", "bot": "zoo", "sender": OTHER, "text": "hi"})
        error = ws.receive_json()
        assert (error["type"], error["reply_to"], error["error"]["code"]) == ("error", "abcdef12", "unknown_bot")
        ws.send_json({"id": "abcdef13", "bot": "library", "sender": OTHER, "text": "x" * 5001})
        assert ws.receive_json()["error"]["code"] == "message_too_long"
        ws.send_json({"id": "abcdef14", "bot": "library", "sender": "short", "text": "hi"})
        assert ws.receive_json()["error"]["code"] == "invalid_frame"  # sender ids are long random tokens
        ws.send_json({"type": "hello"})
        assert ws.receive_json() == {"type": "ready"}
    assert inbound(widget_client, "library", OTHER) == []


def test_greeting_has_the_bots_start_menu(widget_client: TestClient) -> None:
    response = widget_client.post("/api/v1/greeting", json={"bot": "residents", "sender": SENDER, "lang": "vi"})
    [greeting] = response.json()["replies"]
    assert greeting["text"].startswith("Xin chào")
    assert greeting["buttons"][0]["payload"] == "/residence_card_address"
    assert widget_client.post("/api/v1/greeting", json={"bot": "residents", "sender": "x"}).status_code == 422


@pytest.mark.parametrize("lang", ["ja", "ja-x-easy", "en", "vi", "ne", "my"])
def test_ui_strings_cover_every_key_the_widget_uses(widget_client: TestClient, lang: str) -> None:
    body = widget_client.get(f"/api/v1/ui/{lang}").json()
    assert body["language"] == lang
    assert set(WIDGET_KEYS) <= set(body["strings"]) and all(body["strings"].values())
    assert {"code": "vi", "name": "Tiếng Việt"} in body["languages"]
    assert body["strings"]["widget.send"] == Catalog.load().text("widget.send", lang)


def test_ui_strings_of_an_unknown_language_are_refused(widget_client: TestClient) -> None:
    response = widget_client.get("/api/v1/ui/klingon")
    assert response.status_code == 422 and response.json()["error"]["code"] == "unsupported_language"


def test_every_widget_key_is_translated_into_every_language() -> None:
    catalog = Catalog.load()
    for language in catalog.languages:
        missing = [key for key in WIDGET_KEYS if catalog.raw(key, language) is None]
        assert not missing, (language, missing)


def test_demo_page_shows_the_three_bots_in_the_browsers_language(widget_client: TestClient) -> None:
    response = widget_client.get("/?bot=library", headers={"accept-language": "vi-VN,vi;q=0.9,en;q=0.5"})
    assert response.status_code == 200 and "default-src 'self'" in response.headers["content-security-policy"]
    page = response.text
    assert '<html lang="vi">' in page and '<yorisoi-chat bot="library" lang="vi">' in page
    assert page.count('class="bot-name"') == 3 and 'aria-current="page"' in page
    assert Catalog.load().text("demo.notice", "vi") in page
    assert '<script src="/static/yorisoi-chat.js" defer></script>' in page


def test_demo_page_falls_back_to_the_default_bot_and_language(widget_client: TestClient) -> None:
    page = widget_client.get("/?bot=zoo", headers={"accept-language": "fr"}).text
    assert '<html lang="ja">' in page and '<yorisoi-chat bot="city_hall" lang="ja">' in page


def test_static_files_are_served_and_nothing_else(widget_client: TestClient) -> None:
    script = widget_client.get("/static/yorisoi-chat.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "customElements.define" in script.text
    for name in ("api.py", "..%2Fapi.py", "missing.js"):
        assert widget_client.get(f"/static/{name}").status_code == 404


def test_best_language_reads_accept_language() -> None:
    languages = ("ja", "ja-x-easy", "en", "zh-Hans", "zh-Hant", "vi", "pt")
    assert browser_language("pt-BR,pt;q=0.9", languages, "ja") == "pt"
    assert browser_language("zh-TW,zh;q=0.8", languages, "ja") == "zh-Hant"
    assert browser_language("zh-CN", languages, "ja") == "zh-Hans"
    assert browser_language("fr;q=1,en;q=0.5", languages, "ja") == "en"
    assert browser_language("en;q=0.2,vi;q=0.9", languages, "ja") == "vi"
    assert browser_language("", languages, "ja") == "ja"


class BrokenHandler:
    """A handler whose database is down."""

    def accept(self, message: object) -> object:
        raise RuntimeError(f"INSERT failed [parameters: {message!r}]")


def test_a_server_failure_closes_the_socket_without_logging_the_message(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    policy = ChannelPolicy(bots=("library",), languages=("ja", "en"), default_language="ja", max_message_chars=100)
    app.include_router(WebWidgetConnector(kiosk_path=None).router(BrokenHandler(), policy))  # type: ignore[arg-type]
    with TestClient(app) as client, client.websocket_connect("/ws/chat") as ws:
        ws.send_json({"id": "abcdef99", "bot": "library", "sender": SENDER, "text": "my secret question"})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1011  # the widget keeps the message queued and resends it after reconnecting
    assert "RuntimeError" in caplog.text and "secret" not in caplog.text


def next_push(ws: ClientConnection, timeout: float = 10) -> list[dict[str, Any]]:
    """The messages of the next push frame (other frames are skipped); TimeoutError if none comes."""
    while True:
        frame = json.loads(ws.recv(timeout=timeout))
        if frame["type"] == "push":
            return list(frame["messages"])


@pytest.mark.usefixtures("open_desk")
def test_a_hello_with_bot_and_sender_gets_what_staff_write_pushed(live_app: LiveApp) -> None:
    sender = secrets.token_hex(16)
    asked = httpx.post(f"{live_app.url}/api/v1/messages",
                       json={"bot": "residents", "sender": sender, "text": "staff please", "lang": "en"})
    assert asked.status_code == 200
    shown = httpx.get(f"{live_app.url}/api/v1/conversations/residents/{sender}").json()["messages"]
    desk = live_app.components.desk
    staff = live_app.components.accounts.create_user(f"push-{uuid.uuid4().hex[:10]}", "password-1", "staff",
                                                     display_name="佐藤", language="ja")
    [handoff] = [h for h in desk.queue(staff) if h["sender"] == sender]
    url = live_app.url.replace("http", "ws", 1) + "/ws/chat"
    with connect(url) as ws:  # as the widget does: pushes start after the newest message it shows
        ws.send(json.dumps({"type": "hello", "bot": "residents", "sender": sender, "after": shown[-1]["id"]}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "ready"}
        desk.claim(staff, handoff["id"])
        [joined] = next_push(ws)
        desk.post(staff, handoff["id"], "", canned="hello")
        [written] = next_push(ws)
    assert joined["role"] == "system" and "佐藤" in joined["text"] and joined["channel"] == "web"
    assert written["role"] == "staff" and written["text"] == Catalog.load().text("canned.hello", "en")
    assert (written["reply"]["author"], written["reply"]["speaker"]) == ("佐藤", "staff")
    assert "translations" not in written["reply"] and "params" not in joined["reply"]  # the desk's own keys stay

    with connect(url) as ws:  # reconnected after the join notice: only what came after it
        ws.send(json.dumps({"type": "hello", "bot": "residents", "sender": sender, "after": joined["id"]}))
        assert [m["id"] for m in next_push(ws)] == [written["id"]]
    with connect(url) as ws:  # without "after": from now on (nothing new was written)
        ws.send(json.dumps({"type": "hello", "bot": "residents", "sender": sender}))
        assert json.loads(ws.recv(timeout=10)) == {"type": "ready"}
        with pytest.raises(TimeoutError):
            next_push(ws, timeout=2.5)
