"""A senior calls a helper at the kiosk and city staff write back, in Debian's Chromium."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from connectors.kiosk.tests.test_kiosk_browser import open_kiosk, without_readings
from connectors.web.tests.live_server import LiveApp, screenshot
from connectors.web.tests.test_widget_handoff_browser import open_desk, staff_member  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("open_desk")]


def test_staff_write_to_the_kiosk_until_the_screen_is_wiped_for_the_next_person(
    new_page: Callable[..., Any], live_app: LiveApp
) -> None:
    page, senders = open_kiosk(new_page, live_app)
    polled: list[str] = []
    page.on("request", lambda request: polled.append(request.url) if "/updates?" in request.url else None)
    page.locator("#helper-button").click()
    expect(page.locator("#helper")).to_be_visible()

    staff = staff_member(live_app)
    handoff_id = staff.handoff_of(senders[0])
    staff.claim(handoff_id)
    pushed = page.locator("#pushed")
    expect(pushed.locator(".system")).to_contain_text("佐藤")
    staff.write(handoff_id, "いま行きます。少々お待ちください。")
    message = pushed.locator(".staff")
    expect(message.locator(".text ruby").first).to_be_visible()  # furigana, like every text on the kiosk
    assert without_readings(message.locator(".text")) == "いま行きます。少々お待ちください。"
    assert without_readings(message.locator(".who")) == "職員 · 佐藤"
    assert float(message.locator(".text").evaluate("node => parseFloat(getComputedStyle(node).fontSize)")) >= 24
    expect(pushed).to_have_attribute("role", "log")  # announced as it arrives
    assert polled and all(f"/kiosk/api/updates?bot=city_hall&sender={senders[0]}&after=" in url for url in polled)
    screenshot(page, "kiosk-staff-message")
    assert page.console_errors == []

    page.locator("#finish-button").click()
    expect(page.locator("body")).to_have_attribute("data-resets", "1")
    expect(pushed).to_be_hidden()
    expect(pushed.locator(".card")).to_have_count(0)
    asked = sum(senders[0] in url for url in polled)
    page.wait_for_timeout(3_500)  # longer than a polling interval
    assert sum(senders[0] in url for url in polled) == asked  # the last visitor's messages are no longer fetched
    assert not any(senders[1] in url for url in polled)  # the next visitor has not said anything yet
