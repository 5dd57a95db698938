"""The whole handoff, as the issue tells it, with three browsers and real (tiny) machine translation.

A Vietnamese resident in the web widget asks for staff → the request appears live in the
console → Japanese staff take it and reply; the resident reads it translated, with the original
→ an interpreter joins; resident, staff and interpreter each read the others in their own
language → staff resolve → the bot answers again and asks for a rating.
The tiny Argos packages swap one greeting: こんにちは ↔ hello ↔ chào.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from connectors.staff.tests.test_console_browser import log_in, message, row
from connectors.web.tests.live_server import LiveApp, browser, live_app, new_page
from connectors.web.tests.test_widget_handoff_browser import (
    ask_for_staff_in_vietnamese,
    bubbles,
    machine_translation,
    open_desk,
    vi,
)

__all__ = ["browser", "live_app", "machine_translation", "new_page", "open_desk"]
pytestmark = pytest.mark.browser


def test_resident_staff_and_interpreter_each_read_their_own_language(
    new_page: Callable[..., Any], live_app: LiveApp, open_desk: None, machine_translation: None
) -> None:
    suffix = uuid.uuid4().hex[:6]
    staff_user, interpreter_user = (f"tanaka-{suffix}", "password-1"), (f"lan-{suffix}", "password-2")
    accounts = live_app.components.accounts
    accounts.create_user(*staff_user, "staff", display_name="田中", language="ja")
    accounts.create_user(*interpreter_user, "interpreter", display_name="Lan", language="ja", interprets=("vi",))
    staff = new_page()
    log_in(staff, live_app, staff_user)

    resident = new_page()
    sender = ask_for_staff_in_vietnamese(resident, live_app)
    queue = live_app.components.desk.store.handoffs()
    [handoff_id] = [view.id for view in queue if view.sender == sender]
    ticket = row(staff, handoff_id)
    expect(ticket).to_contain_text("Tiếng Việt")  # arrived in the console without a reload
    ticket.click()
    staff.get_by_role("button", name="担当する").click()
    expect(bubbles(resident, "system").filter(has_text=vi("handoff.staff_joined", name="田中"))).to_have_count(1)

    reply = staff.get_by_label("返信（住民の言語に翻訳して送られます）")
    reply.fill("こんにちは")
    reply.press("Enter")
    from_staff = bubbles(resident, "staff").last
    expect(from_staff).to_contain_text("chào")  # ja → en → vi
    expect(from_staff.get_by_text(vi("widget.machine_translated"))).to_be_visible()
    from_staff.get_by_role("button", name=vi("widget.show_original")).click()
    expect(from_staff.get_by_text("こんにちは")).to_be_visible()

    resident.get_by_label("Tin nhắn của bạn").fill("chào")
    resident.get_by_role("button", name="Gửi").click()
    from_resident = staff.locator("#messages li.msg.resident").last
    expect(from_resident.locator(".text")).to_contain_text("こんにちは")  # vi → en → ja, for staff
    expect(from_resident.locator(".badge.mt")).to_have_text("機械翻訳")

    staff.get_by_label("通訳者", exact=True).select_option(interpreter_user[0])
    staff.get_by_role("button", name="通訳を招待").click()
    expect(bubbles(resident, "system").filter(has_text=vi("handoff.interpreter_joined"))).to_have_count(1)
    interpreter = new_page()
    log_in(interpreter, live_app, interpreter_user)
    row(interpreter, handoff_id).click()
    expect(message(interpreter, "こんにちは").first).to_be_visible()  # the conversation so far, in Japanese
    interpreter.get_by_label("書いた言語").select_option("vi")
    interpreter.get_by_label("返信", exact=True).fill("chào")
    interpreter.get_by_label("返信", exact=True).press("Enter")
    from_interpreter = bubbles(resident, "staff").filter(has_text=vi("widget.speaker_interpreter")).last
    expect(from_interpreter).to_contain_text("chào")  # written in Vietnamese: no machine translation
    expect(from_interpreter.get_by_text(vi("widget.machine_translated"))).to_have_count(0)
    seen_by_staff = staff.locator("#messages li.msg.interpreter").last
    expect(seen_by_staff.locator(".text")).to_contain_text("こんにちは")
    expect(seen_by_staff.locator(".speaker")).to_have_text("通訳者（Lan）")

    staff.get_by_role("button", name="対応完了").click()
    staff.get_by_role("button", name="完了する").click()
    expect(row(staff, handoff_id)).to_have_count(0)
    question = bubbles(resident, "bot").filter(has_text=vi("handoff.satisfaction"))
    question.get_by_role("button", name="4", exact=True).click()
    expect(bubbles(resident, "bot").last).to_contain_text(vi("handoff.satisfaction_thanks"))
    resident.get_by_label("Tin nhắn của bạn").fill("hello")
    resident.get_by_role("button", name="Gửi").click()
    greeting = vi("greet.welcome", bot_name=vi("bot.residents.name")).split("{")[0][:20]
    expect(bubbles(resident, "bot").last).to_contain_text(greeting)  # the bot answers again
    closed = live_app.components.desk.store.handoff(handoff_id)
    assert closed is not None and closed.status == "resolved" and closed.satisfaction == 4
