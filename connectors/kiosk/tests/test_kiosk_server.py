"""The kiosk's server side: sessions, furigana, guides split into steps, the helper call, the QR code."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from connectors.kiosk.connector import KioskConnector, kiosk_languages
from connectors.kiosk.render import KIOSK_KEYS, guide_sections, render_reply, resume_url
from tests.shared_fixtures import set_desk_open
from translations.catalog import Catalog

PAYLOADS = Path(__file__).parent / "payloads"
PHONE_TEXT_SIZE_EN = """You can make the text bigger in Settings.
1. Open "Settings" (the gear icon).
2. iPhone: tap Display & Brightness > Text Size.
Android: tap Display > Font size.
3. Drag the slider to the right. The text gets bigger.
4. When the size looks right, just go back. It is saved automatically.
Menu names differ a little from phone to phone."""
STEPS = ('Open "Settings" (the gear icon).', "iPhone: tap Display & Brightness > Text Size.",
         "Drag the slider to the right. The text gets bigger.",
         "When the size looks right, just go back. It is saved automatically.")


def recorded(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def session(client: TestClient, lang: str | None = "ja") -> dict[str, Any]:
    response = client.post("/kiosk/api/session", json={"bot": "city_hall", "lang": lang})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_session_gets_a_secret_sender_the_topic_buttons_and_a_qr_code(kiosk_client: TestClient) -> None:
    first, second = session(kiosk_client), session(kiosk_client)
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", first["sender"]) and first["sender"] != second["sender"]
    [greeting] = first["replies"]
    assert [b["payload"] for b in greeting["buttons"]][:2] == ["/resident_certificate", "/moving_in"]
    assert "<ruby>" in greeting["html"] and '<rt aria-hidden="true">' in greeting["buttons"][0]["html"]
    assert first["qr"].startswith("data:image/svg+xml")
    svg = unquote(first["qr"].split(",", 1)[1]) if ";base64" not in first["qr"] else base64.b64decode(
        first["qr"].split(",", 1)[1]).decode()
    assert "<svg" in svg


def test_a_button_press_answers_with_furigana_and_a_guide_in_steps(kiosk_client: TestClient) -> None:
    sender = session(kiosk_client)["sender"]
    body = recorded("kiosk_message_request.json") | {"sender": sender}
    answer = kiosk_client.post("/kiosk/api/message", json=body).json()
    [reply] = answer["replies"]
    assert answer["language"] == "ja" and len(reply["steps_html"]) == 4
    assert '<ruby>設定<rt aria-hidden="true">せってい</rt></ruby>' in reply["steps_html"][0]
    assert "Android" in reply["steps_html"][1]  # the unnumbered line stays with its step
    assert "<ruby>" in reply["html"] and reply["outro_html"]
    again = kiosk_client.post("/kiosk/api/message", json=body).json()  # a retry after a network error
    assert again["duplicate"] is True and again["replies"] == answer["replies"]
    stored = kiosk_client.get(f"/api/v1/conversations/city_hall/{sender}").json()["messages"]
    assert [(m["channel"], m["title"]) for m in stored if m["direction"] == "in"] == [("kiosk", body["title"])]


def test_english_is_escaped_without_ruby() -> None:
    rendered = render_reply({"text": "<b>Hello</b>\nbye", "buttons": [{"title": "A & B", "payload": "/x"}]}, "en")
    assert rendered["html"] == "&lt;b&gt;Hello&lt;/b&gt;<br>bye" and rendered["buttons"][0]["html"] == "A &amp; B"


def test_guide_sections_keep_intro_continuations_and_closing_notes() -> None:
    intro, steps, outro = guide_sections(PHONE_TEXT_SIZE_EN, STEPS)
    assert intro == ["You can make the text bigger in Settings."]
    assert steps[1] == ["iPhone: tap Display & Brightness > Text Size.", "Android: tap Display > Font size."]
    assert [len(s) for s in steps] == [1, 2, 1, 1] and outro == ["Menu names differ a little from phone to phone."]


def helper_call(client: TestClient, **changes: Any) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """Press "call a helper"; the answer, the handoff's reason and the stored message's metadata."""
    sender = session(client)["sender"]
    answer = client.post("/kiosk/api/helper", json=recorded("kiosk_helper_request.json") | {"sender": sender} | changes)
    database = client.components.database  # type: ignore[attr-defined]
    with database.connect() as connection:
        reason = connection.execute(text(
            "select h.reason from handoff_requests h join conversations c on c.id = h.conversation_id "
            "where c.sender = :sender and c.channel = 'kiosk'"), {"sender": sender}).scalar_one()
        payload = connection.execute(text(
            "select m.payload from messages m join conversations c on c.id = m.conversation_id "
            "where c.sender = :sender and m.direction = 'in'"), {"sender": sender}).scalar_one()
    payload = json.loads(payload) if isinstance(payload, str) else payload
    return answer.json(), reason, payload["metadata"]


def test_call_a_helper_raises_a_kiosk_handoff_with_the_location(kiosk_client: TestClient) -> None:
    set_desk_open(kiosk_client.components)  # type: ignore[attr-defined]  # staff on duty, whatever the clock
    answer, reason, metadata = helper_call(kiosk_client, location="branch-7")
    assert "職員" in answer["replies"][0]["text"]
    assert (reason, metadata["handoff_reason"], metadata["kiosk_location"]) == ("kiosk", "kiosk", "branch-7")
    _answer, _reason, metadata = helper_call(kiosk_client, location=None)
    assert metadata["kiosk_location"] == "community-center-1"  # the kiosk's configured name


def test_ending_a_session_closes_the_conversation(kiosk_client: TestClient) -> None:
    sender = session(kiosk_client)["sender"]
    store = kiosk_client.components.store  # type: ignore[attr-defined]
    assert store.is_active("city_hall", "kiosk", sender)
    assert kiosk_client.post("/kiosk/api/end", json={"bot": "city_hall", "sender": sender}).json() == {"ended": True}
    assert not store.is_active("city_hall", "kiosk", sender)


def test_the_page_carries_its_settings_and_the_language_buttons(kiosk_client: TestClient) -> None:
    response = kiosk_client.get("/kiosk/library?location=branch-2&idle=1")
    assert response.status_code == 200 and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page = response.text
    assert 'data-location="branch-2"' in page and 'data-idle="3"' in page  # clamped to the minimum
    codes = re.findall(r'class="lang" data-lang="([^"]+)"', page)
    assert codes == ["ja", "ja-x-easy", "en"] and page.count('class="lang topic"') == 14
    default = kiosk_client.get("/kiosk/library?location=<script>").text
    assert 'data-location="community-center-1"' in default and 'data-idle="60"' in default
    assert kiosk_client.get("/kiosk/zoo").status_code == 404


def test_ui_texts_have_ruby_in_japanese_and_every_key_in_every_language(kiosk_client: TestClient) -> None:
    strings = kiosk_client.get("/kiosk/api/ui/ja").json()["strings"]
    assert strings["kiosk.call_helper"].replace(' aria-hidden="true"', "") == \
        "<ruby>係<rt>かかり</rt></ruby>の<ruby>人<rt>ひと</rt></ruby>を<ruby>呼<rt>よ</rt></ruby>ぶ"
    assert "{seconds}" in strings["kiosk.idle_warning"] and "<ruby>" not in strings["kiosk.idle_warning"]
    assert kiosk_client.get("/kiosk/api/ui/en").json()["strings"]["kiosk.next"] == "Next"
    assert kiosk_client.get("/kiosk/api/ui/klingon").status_code == 422
    catalog = Catalog.load()
    for language in catalog.languages:
        assert [k for k in KIOSK_KEYS if catalog.raw(k, language) is None] == [], language


def test_qr_code_opens_the_widget_on_the_conversation() -> None:
    assert resume_url("https://city.example/", "city_hall", "abc_DEF-123") == \
        "https://city.example/?bot=city_hall&resume=abc_DEF-123"


def test_kiosk_settings_are_checked() -> None:
    assert kiosk_languages(("ja", "en", "vi", "ja-x-easy"), ("vi", "zz")) == ["ja", "ja-x-easy", "en", "vi"]
    with pytest.raises(ValueError, match="idle_seconds"):
        KioskConnector(idle_seconds=1)
    with pytest.raises(ValueError, match="default_location"):
        KioskConnector(default_location="a b")


def test_staff_messages_come_with_furigana_and_only_for_the_kiosks_own_sender(kiosk_client: TestClient) -> None:
    components = kiosk_client.components  # type: ignore[attr-defined]
    set_desk_open(components)
    sender = session(kiosk_client)["sender"]
    kiosk_client.post("/kiosk/api/helper", json=recorded("kiosk_helper_request.json") | {"sender": sender})
    staff = components.accounts.create_user("kiosk-staff", "password-1", "staff", display_name="佐藤")
    [handoff] = [h for h in components.desk.queue(staff) if h["sender"] == sender]
    components.desk.claim(staff, handoff["id"])
    components.desk.post(staff, handoff["id"], "住民票はこちらです")
    messages = kiosk_client.get("/kiosk/api/updates", params={"bot": "city_hall", "sender": sender}).json()["messages"]
    assert [m["role"] for m in messages] == ["system", "staff"]
    assert "<ruby>" in messages[-1]["rendered"]["html"] and messages[-1]["text"] == "住民票はこちらです"
    newer = kiosk_client.get("/kiosk/api/updates", params={"bot": "city_hall", "sender": sender,
                                                           "after": messages[-1]["id"]}).json()
    assert newer["messages"] == []
    assert kiosk_client.get("/kiosk/api/updates", params={"bot": "city_hall", "sender": "short"}).status_code == 422
