"""The widget in Debian's Chromium: a resident's conversation, keyboard use, reconnection, small screens, axe."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from connectors.web.tests.live_server import LiveApp, axe_script, screenshot, serious_violations

pytestmark = pytest.mark.browser
WS_URL = re.compile(r".*/ws/chat$")
VI_QUESTION = "Tôi có cần đăng ký bảo hiểm y tế không?"
VI_ANSWER = "Người nước ngoài sống ở Nhật trên 3 tháng"

ACTIVE = """() => {
  let node = document.activeElement;
  while (node && node.shadowRoot && node.shadowRoot.activeElement) node = node.shadowRoot.activeElement;
  const style = getComputedStyle(node);
  return {tag: node.tagName, text: (node.textContent || '').trim(), label: node.id,
          outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth)};
}"""


def open_widget(new_page: Callable[..., Any], live_app: LiveApp, query: str = "bot=residents&lang=en",
                **options: Any) -> Any:
    page = new_page(**options)
    page.goto(f"{live_app.url}/?{query}")
    expect(page.locator("yorisoi-chat .msg.bot").first).to_be_visible()
    return page


def bubbles(page: Any, kind: str) -> Any:
    return page.locator(f"yorisoi-chat .msg.{kind}")


def test_resident_chats_in_vietnamese_presses_a_button_and_finds_it_again_after_reload(
    new_page: Callable[..., Any], live_app: LiveApp
) -> None:
    page = open_widget(new_page, live_app)
    page.get_by_label("Language").select_option("vi")
    expect(page.get_by_label("Tin nhắn của bạn")).to_be_visible()  # the widget now speaks Vietnamese
    expect(bubbles(page, "bot").first).to_contain_text("Xin chào")
    page.get_by_label("Tin nhắn của bạn").fill(VI_QUESTION)
    page.get_by_role("button", name="Gửi").click()
    answer = bubbles(page, "bot").filter(has_text=VI_ANSWER)
    expect(answer).to_have_count(1)
    expect(answer).to_have_attribute("lang", "vi")
    screenshot(page, "widget-vietnamese-answer")

    button = answer.get_by_role("button").first
    title = button.inner_text()
    button.click()
    expect(bubbles(page, "user").last).to_have_text(re.compile(re.escape(title)))  # the title, not the payload
    expect(bubbles(page, "bot")).to_have_count(3)
    expect(page.locator("yorisoi-chat .status[role=status]").first).to_have_text("")  # no longer waiting

    page.reload()
    expect(bubbles(page, "user")).to_have_count(2)
    expect(bubbles(page, "user").first).to_contain_text(VI_QUESTION)
    expect(bubbles(page, "user").last).to_contain_text(title)
    expect(bubbles(page, "bot").filter(has_text=VI_ANSWER)).to_have_count(1)
    expect(page.get_by_label("Ngôn ngữ")).to_have_value("vi")
    assert page.console_errors == []
    screenshot(page, "widget-restored-after-reload")


def test_keyboard_only_resident_can_press_a_menu_button_and_type_a_question(
    new_page: Callable[..., Any], live_app: LiveApp
) -> None:
    page = open_widget(new_page, live_app, "bot=library&lang=en")
    menu_titles = [b.inner_text() for b in bubbles(page, "bot").first.get_by_role("button").all()]
    assert menu_titles
    for _ in range(40):  # Tab from the top of the page to the first menu button of the greeting
        page.keyboard.press("Tab")
        if page.evaluate(ACTIVE)["text"] == menu_titles[0]:
            break
    focused = page.evaluate(ACTIVE)
    assert focused["tag"] == "BUTTON" and focused["text"] == menu_titles[0]
    assert focused["outline"] != "none" and focused["outlineWidth"] >= 2  # the focus is visible
    screenshot(page, "widget-keyboard-focus")
    page.keyboard.press("Enter")
    expect(bubbles(page, "user").last).to_have_text(re.compile(re.escape(menu_titles[0])))
    expect(bubbles(page, "bot")).to_have_count(2)
    expect(bubbles(page, "bot").last).to_have_attribute("lang", "en")  # in the language the button was shown in

    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate(ACTIVE)["label"] == "input":
            break
    assert page.evaluate(ACTIVE)["tag"] == "TEXTAREA"
    page.keyboard.type("What are the opening hours?")
    page.keyboard.press("Enter")
    expect(bubbles(page, "user").last).to_have_text(re.compile("opening hours"))
    expect(bubbles(page, "bot")).to_have_count(3)
    page.keyboard.press("Tab")
    assert page.evaluate(ACTIVE)["text"] == "Send"


def test_a_message_typed_while_the_connection_is_down_is_sent_once_when_it_is_back(
    new_page: Callable[..., Any], live_app: LiveApp
) -> None:
    page = new_page()
    down = {"value": False}
    sockets: list[Any] = []

    def route_socket(ws: Any) -> None:
        if down["value"]:
            ws.close(code=1011, reason="server down")
            return
        ws.connect_to_server()
        sockets.append(ws)

    def route_http(route: Any) -> None:
        if down["value"]:
            route.abort()
        else:
            route.continue_()

    page.route_web_socket(WS_URL, route_socket)
    page.route("**/api/v1/messages", route_http)
    page.goto(f"{live_app.url}/?bot=library&lang=en")
    expect(bubbles(page, "bot").first).to_be_visible()
    page.get_by_label("Your message").fill("opening hours please")
    page.get_by_label("Your message").press("Enter")
    expect(bubbles(page, "bot")).to_have_count(2)

    down["value"] = True
    sockets[-1].close(code=1012, reason="restart")
    expect(page.get_by_text("The connection was lost")).to_be_visible()
    page.get_by_label("Your message").fill("what are the opening hours on Sunday")
    page.get_by_label("Your message").press("Enter")
    expect(bubbles(page, "user").last).to_contain_text("Sending")
    screenshot(page, "widget-offline-queued")
    down["value"] = False  # the server is back: the widget reconnects on its own and sends the queued message
    expect(bubbles(page, "bot")).to_have_count(3, timeout=30_000)
    expect(bubbles(page, "user").last).not_to_contain_text("Sending")
    expect(page.get_by_text("The connection was lost")).to_be_hidden()
    sender = page.evaluate("() => localStorage.getItem('yorisoi.library.sender')")
    messages = live_app_messages(live_app, "library", sender)
    assert [m["text"] for m in messages if m["direction"] == "in"] == [
        "opening hours please", "what are the opening hours on Sunday"]


def test_an_answer_lost_with_the_connection_is_delivered_once_after_reconnecting(
    new_page: Callable[..., Any], live_app: LiveApp
) -> None:
    page = new_page()
    dropped: list[str] = []

    def route_socket(ws: Any) -> None:
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            frame = json.loads(message)
            if frame.get("type") == "reply" and not dropped:
                dropped.append(frame["reply_to"])  # the server answered, but the connection broke first
                ws.close(code=1011, reason="lost")
                return
            ws.send(message)

        server.on_message(to_page)
        ws.on_message(lambda message: server.send(message))

    page.route_web_socket(WS_URL, route_socket)
    page.goto(f"{live_app.url}/?bot=library&lang=en")
    expect(bubbles(page, "bot").first).to_be_visible()
    page.get_by_label("Your message").fill("opening hours, please")
    page.get_by_label("Your message").press("Enter")
    expect(bubbles(page, "bot")).to_have_count(2, timeout=30_000)
    assert len(dropped) == 1
    expect(bubbles(page, "bot")).to_have_count(2)
    sender = page.evaluate("() => localStorage.getItem('yorisoi.library.sender')")
    inbound = [m for m in live_app_messages(live_app, "library", sender) if m["direction"] == "in"]
    assert [(m["text"], m["client_id"]) for m in inbound] == [("opening hours, please", dropped[0])]


def test_without_websocket_the_widget_answers_over_http(new_page: Callable[..., Any], live_app: LiveApp) -> None:
    page = new_page()
    page.route_web_socket(WS_URL, lambda ws: ws.close(code=1011, reason="blocked by a proxy"))
    page.goto(f"{live_app.url}/?bot=residents&lang=en")
    expect(bubbles(page, "bot").first).to_be_visible()
    page.get_by_label("Your message").fill("Where is the consultation desk?")
    with page.expect_response("**/api/v1/messages") as response:
        page.get_by_role("button", name="Send").click()
    assert response.value.ok
    expect(bubbles(page, "bot")).to_have_count(2)
    expect(page.get_by_text("The connection was lost")).to_be_hidden()


@pytest.mark.parametrize(("name", "viewport"), [
    ("phone-360", {"width": 360, "height": 740}),
    ("reflow-320", {"width": 320, "height": 640}),
    ("zoom-200", {"width": 640, "height": 400}),  # 1280x800 at 200% zoom
])
def test_widget_fits_narrow_screens_and_200_percent_zoom(
    new_page: Callable[..., Any], live_app: LiveApp, name: str, viewport: dict[str, int]
) -> None:
    page = open_widget(new_page, live_app, "bot=city_hall&lang=ja", viewport=viewport)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    page.get_by_label("メッセージ").fill("住民票がほしい")
    page.get_by_role("button", name="送信").click()
    expect(bubbles(page, "bot")).to_have_count(2)
    send = page.get_by_role("button", name="送信")
    send.scroll_into_view_if_needed()
    box = send.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, f"widget-{name}")


def test_a_guide_shows_its_steps_as_a_numbered_list(new_page: Callable[..., Any], live_app: LiveApp) -> None:
    page = open_widget(new_page, live_app, "bot=city_hall&lang=en")
    page.get_by_label("Your message").fill("How do I get bigger text on my phone?")
    page.get_by_label("Your message").press("Enter")
    steps = bubbles(page, "bot").last.get_by_role("list", name="Steps").get_by_role("listitem")
    expect(steps).to_have_count(4)
    expect(steps.nth(1)).to_contain_text("Android")  # the unnumbered line stays with its step
    expect(bubbles(page, "bot").last).to_contain_text("You can make the text bigger in Settings.")
    screenshot(page, "widget-guide-steps")


def test_widget_has_no_serious_accessibility_violations(new_page: Callable[..., Any], live_app: LiveApp) -> None:
    axe = axe_script()
    page = open_widget(new_page, live_app, "bot=residents&lang=en", bypass_csp=True)
    assert serious_violations(page, axe) == []
    page.get_by_label("Your message").fill("health insurance?")
    page.get_by_label("Your message").press("Enter")
    expect(bubbles(page, "bot")).to_have_count(2)
    expect(bubbles(page, "bot").last.get_by_role("link").first).to_be_visible()
    assert serious_violations(page, axe) == []


def live_app_messages(live_app: LiveApp, bot: str, sender: str) -> list[dict[str, Any]]:
    import httpx

    return list(httpx.get(f"{live_app.url}/api/v1/conversations/{bot}/{sender}").json()["messages"])
