"""A Vietnamese resident talks to Japanese city staff through the widget, in Debian's Chromium.

Staff use the console's JSON API over HTTP; what they write reaches the widget as a push over
the WebSocket (or by polling without one), machine translated by tiny Argos packages that swap
one greeting (こんにちは → hello → chào), with the original one click away.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from connectors.web.tests.live_server import LiveApp, axe_script, screenshot, serious_violations
from tests.shared_fixtures import install_tiny_mt
from translations.catalog import Catalog

pytestmark = pytest.mark.browser
WS_URL = re.compile(r".*/ws/chat$")
CATALOG = Catalog.load()


def vi(key: str, **params: object) -> str:
    """A catalog text as the Vietnamese resident reads it."""
    return CATALOG.text(key, "vi", **params)


def opening(key: str, language: str = "vi") -> str:
    """The start of a catalog text up to its first placeholder (the rest depends on the bot and the queue)."""
    return (CATALOG.raw(key, language) or "").split("{")[0].strip()


@pytest.fixture
def open_desk(live_app: LiveApp) -> Iterator[None]:
    """Staff answer now, whatever the real clock says (the desk's hours are restored afterwards)."""
    desk = live_app.components.engine.services.desk
    assert desk is not None
    saved = desk.settings
    desk.settings = saved.model_copy(update={"always_open": True})
    try:
        yield
    finally:
        desk.settings = saved


@dataclass
class StaffMember:
    """A member of staff using the console's JSON API over HTTP."""

    url: str
    headers: dict[str, str]

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = httpx.request(method, f"{self.url}{path}", headers=self.headers, timeout=30, **kwargs)
        assert response.status_code < 300, response.text
        return dict(response.json())

    def handoff_of(self, sender: str) -> int:
        """The open handoff of the resident with ``sender``."""
        handoffs = self.call("GET", "/api/v1/handoffs")["handoffs"]
        [found] = [h["id"] for h in handoffs if h["sender"] == sender]
        return int(found)

    def claim(self, handoff_id: int) -> None:
        self.call("POST", f"/api/v1/handoffs/{handoff_id}/claim")

    def write(self, handoff_id: int, text: str) -> None:
        self.call("POST", f"/api/v1/handoffs/{handoff_id}/messages", json={"text": text})

    def resolve(self, handoff_id: int) -> None:
        self.call("POST", f"/api/v1/handoffs/{handoff_id}/resolve")

    def handoff(self, handoff_id: int) -> dict[str, Any]:
        return dict(self.call("GET", f"/api/v1/handoffs/{handoff_id}")["handoff"])


def staff_member(live_app: LiveApp, display_name: str = "佐藤") -> StaffMember:
    """A new staff account (unique name: the live server is shared) logged in over HTTP."""
    username = f"staff-{uuid.uuid4().hex[:10]}"
    live_app.components.accounts.create_user(username, "password-1", "staff", display_name=display_name,
                                             language="ja")
    response = httpx.post(f"{live_app.url}/api/v1/auth/login", json={"username": username, "password": "password-1"})
    assert response.status_code == 200, response.text
    return StaffMember(live_app.url, {"Authorization": f"Bearer {response.json()['token']}"})


@pytest.fixture
def machine_translation(live_app: LiveApp, tiny_mt_archives: list[Path]) -> None:
    """ja→en→vi (and back) by the tiny packages; the translator finds them without a restart."""
    install_tiny_mt(tiny_mt_archives, live_app.components.config.data_path)


def bubbles(page: Any, kind: str) -> Any:
    return page.locator(f"yorisoi-chat .msg.{kind}")


def ask_for_staff_in_vietnamese(page: Any, live_app: LiveApp) -> str:
    """Open the widget, confirm Vietnamese, ask for a person; the sender id of the conversation."""
    page.goto(f"{live_app.url}/?bot=residents&lang=vi")
    expect(bubbles(page, "bot").first).to_be_visible()
    page.get_by_label("Ngôn ngữ").select_option("vi")  # the resident picks Vietnamese in the menu
    page.get_by_label("Tin nhắn của bạn").fill("Tôi muốn nói chuyện với staff")
    page.get_by_role("button", name="Gửi").click()
    expect(bubbles(page, "bot").filter(has_text=opening("handoff.queued"))).to_have_count(1)
    return str(page.evaluate("() => localStorage.getItem('yorisoi.residents.sender')"))


def expect_translated_staff_message(page: Any) -> Any:
    """The staff's こんにちは as the resident sees it: chào, who wrote it, the machine translation note."""
    message = bubbles(page, "staff")
    expect(message).to_have_count(1)
    expect(message).to_contain_text("chào")
    expect(message.locator(".who")).to_have_text(f"{vi('widget.speaker_staff')} · 佐藤")
    expect(message.get_by_text(vi("widget.machine_translated"))).to_be_visible()
    expect(message.get_by_role("button", name=vi("widget.show_original"))).to_be_visible()
    return message


def test_a_resident_talks_to_staff_sees_the_original_and_rates_the_help(
    new_page: Callable[..., Any], live_app: LiveApp, open_desk: None, machine_translation: None
) -> None:
    page = new_page()
    sender = ask_for_staff_in_vietnamese(page, live_app)
    staff = staff_member(live_app)
    handoff_id = staff.handoff_of(sender)

    staff.claim(handoff_id)
    expect(bubbles(page, "system").filter(has_text=vi("handoff.staff_joined", name="佐藤"))).to_have_count(1)
    staff.write(handoff_id, "こんにちは")
    message = expect_translated_staff_message(page)
    original = message.get_by_text("こんにちは")
    expect(original).to_be_hidden()
    message.get_by_role("button", name=vi("widget.show_original")).click()
    expect(original).to_be_visible()
    expect(original).to_have_attribute("lang", "ja")
    expect(message.get_by_role("button", name=vi("widget.hide_original"))).to_have_attribute("aria-expanded", "true")
    screenshot(page, "widget-handoff-staff-message")

    page.reload()  # the conversation comes back as it was, staff's message with its label
    expect_translated_staff_message(page)
    expect(bubbles(page, "system").filter(has_text=vi("handoff.staff_joined", name="佐藤"))).to_have_count(1)
    expect(page.locator("yorisoi-chat .msg").last).to_contain_text("chào")

    bot_messages = bubbles(page, "bot").count()
    page.get_by_label("Tin nhắn của bạn").fill("Cảm ơn bạn")
    page.get_by_role("button", name="Gửi").click()
    expect(bubbles(page, "user").last).not_to_have_class(re.compile("pending"))  # delivered and answered ...
    expect(bubbles(page, "bot")).to_have_count(bot_messages)  # ... by nobody: staff hold the conversation

    staff.resolve(handoff_id)
    expect(bubbles(page, "system").filter(has_text=vi("handoff.resolved"))).to_have_count(1)
    question = bubbles(page, "bot").filter(has_text=vi("handoff.satisfaction"))
    expect(question.get_by_role("button")).to_have_count(5)
    screenshot(page, "widget-handoff-rating")
    question.get_by_role("button", name="5", exact=True).click()
    expect(bubbles(page, "user").last.locator("p")).to_have_text("5")  # the button's title, not its payload
    expect(bubbles(page, "bot").last).to_contain_text(vi("handoff.satisfaction_thanks"))
    assert staff.handoff(handoff_id)["satisfaction"] == 5
    expect(bubbles(page, "staff")).to_have_count(1)  # nothing was shown twice (restore, reconnect, pushes)
    expect(page.locator("yorisoi-chat .log")).not_to_contain_text("null")  # replies without buttons end cleanly
    assert page.console_errors == []


def test_without_websocket_staff_messages_arrive_by_polling(
    new_page: Callable[..., Any], live_app: LiveApp, open_desk: None, machine_translation: None
) -> None:
    page = new_page()
    page.route_web_socket(WS_URL, lambda ws: ws.close(code=1011, reason="blocked by a proxy"))
    polled: list[str] = []
    page.on("request", lambda request: polled.append(request.url) if "/updates?" in request.url else None)
    sender = ask_for_staff_in_vietnamese(page, live_app)
    staff = staff_member(live_app)
    handoff_id = staff.handoff_of(sender)
    staff.claim(handoff_id)
    staff.write(handoff_id, "こんにちは")
    expect_translated_staff_message(page)
    expect(bubbles(page, "system")).to_have_count(1)
    assert polled and all(f"/residents/{sender}/updates?channel=web&after=" in url for url in polled)


def test_a_staff_message_has_no_serious_accessibility_violations(
    new_page: Callable[..., Any], live_app: LiveApp, open_desk: None, machine_translation: None
) -> None:
    axe = axe_script()
    page = new_page(bypass_csp=True)
    sender = ask_for_staff_in_vietnamese(page, live_app)
    staff = staff_member(live_app, display_name="Tanaka")
    handoff_id = staff.handoff_of(sender)
    staff.claim(handoff_id)
    staff.write(handoff_id, "こんにちは")
    message = bubbles(page, "staff")
    expect(message.locator(".who")).to_have_text(f"{vi('widget.speaker_staff')} · Tanaka")
    assert serious_violations(page, axe) == []
    message.get_by_role("button", name=vi("widget.show_original")).click()
    expect(message.get_by_text("こんにちは")).to_be_visible()
    assert serious_violations(page, axe) == []
    # New messages are announced: they are added to the log, a polite live region.
    log = page.locator("yorisoi-chat [role=log]")
    expect(log).to_have_attribute("aria-live", "polite")
    assert message.evaluate("node => node.closest('[role=log]') !== null")
