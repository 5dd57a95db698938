"""The kiosk in Debian's Chromium: topics, furigana, a step guide, a helper, the QR code, the idle reset, axe."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from connectors.web.tests.live_server import LiveApp, axe_script, screenshot, serious_violations

pytestmark = pytest.mark.browser


def without_readings(locator: Any) -> str:
    """The text as it reads without its furigana."""
    return str(locator.evaluate(
        "node => { const copy = node.cloneNode(true); copy.querySelectorAll('rt').forEach(rt => rt.remove());"
        " return copy.textContent.trim(); }"))


def open_kiosk(new_page: Callable[..., Any], live_app: LiveApp, query: str = "") -> tuple[Any, list[str]]:
    """The kiosk page and the sender ids of its sessions (in the order they started)."""
    page = new_page()
    senders: list[str] = []

    def on_response(response: Any) -> None:
        if response.url.endswith("/kiosk/api/session"):
            senders.append(response.json()["sender"])

    page.on("response", on_response)
    page.goto(f"{live_app.url}/kiosk/city_hall?location=community-center-1{query}")
    expect(page.locator("#topics button").first).to_be_visible()
    return page, senders


def test_a_senior_reads_an_answer_with_furigana_follows_a_guide_and_calls_a_helper(
    new_page: Callable[..., Any], live_app: LiveApp
) -> None:
    page, _senders = open_kiosk(new_page, live_app)
    assert float(page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")) >= 24
    for button in page.locator("button:visible").all():
        box = button.bounding_box()
        assert box and box["height"] >= 64 and box["width"] >= 64, button.inner_text()
    expect(page.locator("#qr")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    screenshot(page, "kiosk-home")

    page.locator("#topics button").first.click()  # 住民票の写し
    expect(page.locator("#answer")).to_be_visible()
    expect(page.locator("#replies ruby rt").first).to_be_attached()
    expect(page.locator("#replies")).to_contain_text("住民票")
    screenshot(page, "kiosk-answer-furigana")

    page.locator("#home-button").click()
    page.locator('#topics button[data-payload="/smartphone_class"]').click()  # smartphone classes
    page.locator('#related button[data-payload="/phone_text_size"]').click()  # → bigger text: a guide in 4 steps
    guide = page.locator(".guide")
    expect(guide.locator(".step-count")).to_have_text("手順 1／全4")
    expect(guide.locator(".step")).to_contain_text("設定")
    expect(guide.get_by_role("button", name="もどる")).to_be_hidden()
    guide.get_by_role("button", name="つぎへ").click()
    expect(guide.locator(".step-count")).to_have_text("手順 2／全4")
    expect(guide.locator(".step")).to_contain_text("Android")
    guide.get_by_role("button", name="つぎへ").click()
    expect(guide.locator(".step-count")).to_have_text("手順 3／全4")
    screenshot(page, "kiosk-guide-step-3")
    guide.get_by_role("button", name="もどる").click()
    expect(guide.locator(".step-count")).to_have_text("手順 2／全4")
    for _ in range(2):
        guide.get_by_role("button", name="つぎへ").click()
    expect(guide.locator(".step-count")).to_have_text("手順 4／全4")
    expect(guide.get_by_role("button", name="つぎへ")).to_be_hidden()

    helper = page.locator("#helper-button")
    assert without_readings(helper) == "係の人を呼ぶ"
    helper.click()
    expect(page.locator("#helper")).to_be_visible()
    assert without_readings(page.locator("#helper-heading")) == "係の人が来ます。ここでお待ちください。"
    expect(page.locator("#helper-text")).to_contain_text("職員")
    screenshot(page, "kiosk-helper-called")
    assert page.console_errors == []


def test_language_buttons_switch_the_screen_and_the_topics(new_page: Callable[..., Any], live_app: LiveApp) -> None:
    page, _senders = open_kiosk(new_page, live_app)
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="Back to the start")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#topics button").first).to_have_text("Juminhyo (residence)")
    page.get_by_role("button", name="Other languages").click()
    page.locator("#languages").get_by_role("button", name="Tiếng Việt").click()
    expect(page.get_by_role("button", name="Gọi nhân viên")).to_be_visible()
    expect(page.locator("#greeting")).to_contain_text("Xin chào")
    page.locator("#topics button").first.click()
    expect(page.locator("#replies")).not_to_be_empty()
    expect(page.locator("#replies ruby")).to_have_count(0)
    page.get_by_role("button", name="やさしい にほんご").click()
    expect(page.locator("#topics-heading")).to_contain_text("しりたい")
    screenshot(page, "kiosk-easy-japanese")


def test_idle_screen_is_wiped_for_the_next_person_with_a_new_conversation(
    new_page: Callable[..., Any], live_app: LiveApp
) -> None:
    page, senders = open_kiosk(new_page, live_app, "&idle=3")
    page.locator("#topics button").first.click()
    expect(page.locator("#answer")).to_be_visible()
    answer = page.locator("#replies").inner_text()
    expect(page.locator("#idle")).to_be_visible(timeout=10_000)  # the countdown with "まだ使う"
    expect(page.locator("#idle-text")).to_contain_text("秒")
    screenshot(page, "kiosk-idle-countdown")
    continue_button = page.locator("#continue-button")
    assert without_readings(continue_button) == "まだ使う"
    continue_button.click()
    expect(page.locator("#idle")).to_be_hidden()
    expect(page.locator("#answer")).to_be_visible()  # still there for the same person
    expect(page.locator("body")).to_have_attribute("data-resets", "1", timeout=20_000)  # the reset has happened
    expect(page.locator("#home")).to_be_visible()
    expect(page.locator("#answer")).to_be_hidden()
    assert answer[:20] not in page.locator("body").inner_text()
    expect(page.locator("#topics button").first).to_be_visible()
    assert len(senders) == 2 and senders[0] != senders[1]
    messages = page.request.get(f"{live_app.url}/api/v1/conversations/city_hall/{senders[1]}").json()["messages"]
    assert messages == []  # the next person starts with an empty conversation


def test_the_qr_code_continues_the_conversation_on_ones_own_phone(
    new_page: Callable[..., Any], live_app: LiveApp
) -> None:
    kiosk, senders = open_kiosk(new_page, live_app)
    title = without_readings(kiosk.locator("#topics button").first)
    kiosk.locator("#topics button").first.click()
    expect(kiosk.locator("#answer")).to_be_visible()
    phone = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.goto(f"{live_app.url}/?bot=city_hall&resume={senders[0]}")  # what the QR code encodes
    chat = phone.locator("yorisoi-chat")
    expect(chat.locator(".msg.bot")).to_have_count(2)  # the welcome and the kiosk's answer
    expect(chat.locator(".msg.user")).to_contain_text(str(title))
    assert "resume" not in phone.url
    assert phone.evaluate("() => localStorage.getItem('yorisoi.city_hall.sender')") == senders[0]
    screenshot(phone, "widget-resumed-from-kiosk")


def test_kiosk_has_no_serious_accessibility_violations(new_page: Callable[..., Any], live_app: LiveApp) -> None:
    axe = axe_script()
    page = new_page(bypass_csp=True)
    page.goto(f"{live_app.url}/kiosk/city_hall")
    expect(page.locator("#topics button").first).to_be_visible()
    assert serious_violations(page, axe) == []
    page.locator('#topics button[data-payload="/smartphone_class"]').click()
    page.locator('#related button[data-payload="/phone_text_size"]').click()
    expect(page.locator(".guide .step")).to_be_visible()
    assert serious_violations(page, axe) == []
