"""The staff console in Debian's Chromium: a resident asks for staff in the widget, staff take the
conversation, reply, invite an interpreter who answers too, and resolve it; login errors; polling
when the WebSocket is blocked; callback tickets; long waits; and axe-core's accessibility scan."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from bot.payloads import make_payload
from connectors.web.tests.live_server import (
    LiveApp,
    axe_script,
    browser,
    live_app,
    new_page,
    screenshot,
    serious_violations,
)
from translations.mt import Translation, mt_language
from translations.pipeline import TranslationPipeline

__all__ = ["browser", "live_app", "new_page"]
pytestmark = pytest.mark.browser

STAFF = ("sato", "password-1")
INTERPRETER = ("nguyen", "password-2")
RESIDENT_ASKS = "Tôi muốn nói chuyện với staff, được không?"
STAFF_REPLY = "こんにちは、市役所の佐藤です。ご用件をどうぞ。"
INTERPRETER_SAYS = "Xin chào, tôi là thông dịch viên Nguyen."
WS_STAFF = re.compile(r".*/ws/staff$")
FOCUSED = """() => {
  const node = document.activeElement, style = getComputedStyle(node);
  return {id: node.dataset.id || null, outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth)};
}"""


class TaggingTranslator:
    """A machine translator for every pair: ``[target] text`` (so translated text is recognisable)."""

    def translate(self, text: str, source: str, target: str) -> Translation:
        return Translation(f"[{target}] {text}", mt_language(target), source, target, text, True, True, "tagging@1")

    def available_pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset({("vi", "ja"), ("ja", "vi"), ("en", "ja"), ("ja", "en")})

    def model_version(self, source: str, target: str) -> str | None:
        return None if mt_language(source) == mt_language(target) else "tagging@1"


@pytest.fixture
def desk(live_app: LiveApp, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveApp]:
    """The shared live app with the desk open whatever the clock says, machine translation, and two users."""
    monkeypatch.setattr(live_app.components.engine.services.desk, "is_open", lambda bot: True)
    monkeypatch.setattr(live_app.components.desk, "pipeline", TranslationPipeline(TaggingTranslator()))
    accounts = live_app.components.accounts
    accounts.create_user(*STAFF, "staff", display_name="佐藤", language="ja", replace=True)
    accounts.create_user(*INTERPRETER, "interpreter", display_name="Nguyen", language="ja", interprets=("vi",),
                         replace=True)
    yield live_app


def handoff_of(live_app: LiveApp, sender: str) -> dict[str, Any]:
    """The newest handoff of ``sender``'s conversation, as the desk describes it."""
    views = [v for v in live_app.components.desk.store.handoffs(open_only=False) if v.sender == sender]
    assert views, f"no handoff for {sender}"
    return live_app.components.desk.describe(views[-1]).to_json()


def log_in(page: Any, live_app: LiveApp, user: tuple[str, str], query: str = "") -> None:
    page.goto(f"{live_app.url}/staff{query}")
    page.get_by_label(re.compile("^(ユーザー名|Username)$")).fill(user[0])
    page.get_by_label(re.compile("^(パスワード|Password)$")).fill(user[1])
    page.locator("#login-form button[type=submit]").click()
    expect(page.locator("#console-view")).to_be_visible()


def row(page: Any, handoff_id: int) -> Any:
    return page.locator(f'#queue button.ticket[data-id="{handoff_id}"]')


def resident_asks_for_staff(new_page: Callable[..., Any], live_app: LiveApp) -> tuple[Any, str]:
    """A Vietnamese resident in the web widget asks for a person; returns the page and the sender id."""
    resident = new_page()
    resident.goto(f"{live_app.url}/?bot=residents&lang=vi")
    expect(resident.locator("yorisoi-chat .msg.bot").first).to_be_visible()
    resident.get_by_label("Ngôn ngữ").select_option("vi")  # chosen, not detected: the rule NLU knows no Vietnamese
    resident.get_by_label("Tin nhắn của bạn").fill(RESIDENT_ASKS)
    resident.get_by_label("Tin nhắn của bạn").press("Enter")
    expect(resident.locator("yorisoi-chat .msg.bot")).to_have_count(2)
    sender = resident.evaluate("() => localStorage.getItem('yorisoi.residents.sender')")
    assert sender
    return resident, str(sender)


def message(page: Any, text: str) -> Any:
    return page.locator("#messages li.msg").filter(has_text=text)


def test_staff_take_a_request_reply_invite_an_interpreter_and_resolve_it(
    new_page: Callable[..., Any], desk: LiveApp
) -> None:
    staff = new_page()
    log_in(staff, desk, STAFF)
    expect(staff.locator("#who")).to_have_text("佐藤（職員）")
    expect(staff.locator("#connection")).to_have_text("自動更新中")  # the WebSocket is up

    _resident, sender = resident_asks_for_staff(new_page, desk)
    handoff = handoff_of(desk, sender)
    ticket = row(staff, handoff["id"])
    expect(ticket).to_be_visible()  # arrived live, without a reload
    expect(ticket).to_contain_text("Tiếng Việt")
    expect(ticket.locator(".language")).to_have_attribute("lang", "vi")
    expect(ticket).to_contain_text("くらしの案内（外国人住民向け）")
    expect(ticket).to_contain_text("本人が職員を希望")
    expect(ticket).to_contain_text("対応待ち")
    wait = ticket.locator(".wait")
    expect(wait).to_have_text(re.compile(r"^待ち時間 \d\d:\d\d$"))
    before = wait.inner_text()
    expect(wait).not_to_have_text(before, timeout=3000)  # ticks every second
    expect(ticket.locator(".marker")).to_be_empty()
    expect(staff.get_by_role("status").filter(has_text="新しい依頼があります：Tiếng Việt")).to_have_count(1)

    ticket.click()
    expect(staff.locator("#room-heading")).to_have_text(f"#{handoff['id']} Tiếng Việt・くらしの案内（外国人住民向け）")
    expect(staff.locator("#room-heading")).to_be_focused()
    asked = staff.locator("#messages li.msg.resident").last
    expect(asked.locator(".speaker")).to_have_text("住民")
    expect(asked.locator(".text")).to_have_text(f"[ja] {RESIDENT_ASKS}")  # in the staff member's language
    expect(asked.locator(".badge.mt")).to_have_text("機械翻訳")
    original = asked.locator(".original")
    expect(original).to_be_hidden()
    asked.get_by_role("button", name="原文を表示").click()
    expect(original).to_be_visible()
    expect(original).to_contain_text("原文（Tiếng Việt）")
    expect(original.locator("p")).to_have_attribute("lang", "vi")
    expect(asked.get_by_role("button", name="原文を隠す")).to_have_attribute("aria-expanded", "true")
    expect(staff.locator("#messages li.msg.bot").first).to_be_visible()  # the bot transcript before the handoff
    expect(staff.locator("#messages li.msg.bot .speaker").first).to_have_text("案内ボット")
    assert staff.locator("#messages").get_attribute("aria-live") == "polite"

    reply = staff.get_by_label("返信（住民の言語に翻訳して送られます）")
    expect(reply).to_be_disabled()
    expect(staff.get_by_text("返信するには、先に「担当する」を押してください。")).to_be_visible()
    staff.get_by_role("button", name="担当する").click()
    expect(reply).to_be_enabled()
    expect(ticket).to_contain_text("対応中")
    expect(ticket).to_contain_text("担当：あなた")
    expect(staff.get_by_role("button", name="担当する")).to_be_hidden()
    expect(message(staff, "佐藤がチャットに参加しました")).to_have_count(1)  # the resident was told

    reply.fill("一行目")
    reply.press("Shift+Enter")
    reply.type("二行目")
    assert reply.input_value() == "一行目\n二行目"  # Shift+Enter is a new line, not "send"
    reply.fill(STAFF_REPLY)
    reply.press("Enter")
    mine = message(staff, STAFF_REPLY)
    expect(mine).to_have_count(1)
    expect(mine.locator(".speaker")).to_have_text("職員（佐藤）")
    expect(reply).to_have_value("")
    stored = [m for m in desk.components.desk.store.messages(conversation_of(desk, handoff["id"])) if m.role == "staff"]
    assert stored[-1].text == f"[vi] {STAFF_REPLY}"  # what the resident gets

    staff.get_by_label("定型文").select_option(label="確認しますので、少々お待ちください。")
    staff.get_by_role("button", name="定型文を送信").click()
    expect(message(staff, "確認しますので、少々お待ちください。")).to_have_count(1)

    staff.get_by_label("メモを追加").fill("在留カードの住所変更の相談。")
    staff.get_by_role("button", name="メモを保存").click()
    expect(staff.locator("#notes")).to_contain_text("在留カードの住所変更の相談。")
    staff.get_by_label("ラベル（読点またはカンマ区切り）").fill("在留カード、 保険,在留カード")
    staff.get_by_role("button", name="ラベルを保存").click()
    expect(staff.locator("#room-meta .label")).to_have_text(["在留カード", "保険"])
    expect(ticket.locator(".label")).to_have_text(["在留カード", "保険"])

    staff.get_by_label("通訳者", exact=True).select_option("nguyen")
    staff.get_by_role("button", name="通訳を招待").click()
    expect(staff.locator("#room-meta")).to_contain_text("通訳者: Nguyen")
    expect(message(staff, "通訳者がチャットに参加しました")).to_have_count(1)
    screenshot(staff, "staff-console-room")

    interpreter = new_page()
    log_in(interpreter, desk, INTERPRETER)
    expect(interpreter.locator("#who")).to_have_text("Nguyen（通訳者）")
    invited = [h for h in desk.components.desk.queue(user_of(desk, "nguyen"))]
    expect(interpreter.locator("#queue button.ticket")).to_have_count(len(invited))
    row(interpreter, handoff["id"]).click()
    expect(interpreter.locator("#room-heading")).to_contain_text(f"#{handoff['id']} Tiếng Việt")
    for hidden in ("担当する", "対応完了", "通訳を招待", "メモを保存", "定型文を送信"):
        expect(interpreter.get_by_role("button", name=hidden)).to_have_count(0)
    expect(interpreter.get_by_role("link", name="記録をダウンロード")).to_have_count(0)
    interpreter.get_by_label("書いた言語").select_option("vi")
    interpreter.get_by_label("返信", exact=True).fill(INTERPRETER_SAYS)
    interpreter.get_by_label("返信", exact=True).press("Enter")
    expect(message(interpreter, INTERPRETER_SAYS)).to_have_count(1)

    theirs = message(staff, INTERPRETER_SAYS)  # arrives live in the staff member's room
    expect(theirs).to_have_count(1)
    expect(theirs.locator(".speaker")).to_have_text("通訳者（Nguyen）")
    expect(theirs.locator(".text")).to_have_text(f"[ja] {INTERPRETER_SAYS}")
    expect(theirs.locator(".badge.mt")).to_be_visible()

    with staff.expect_download() as download:
        staff.get_by_role("link", name="記録をダウンロード").click()
    assert download.value.suggested_filename == f"yorisoi-handoff-{handoff['id']}.txt"
    transcript = Path(download.value.path()).read_text(encoding="utf-8")
    assert STAFF_REPLY in transcript and INTERPRETER_SAYS in transcript

    staff.get_by_role("button", name="対応完了").click()
    expect(staff.get_by_role("button", name="完了する")).to_be_focused()
    staff.get_by_role("button", name="キャンセル").click()
    expect(staff.get_by_role("button", name="完了する")).to_be_hidden()
    expect(staff.get_by_role("button", name="対応完了")).to_be_focused()
    assert handoff_of(desk, sender)["status"] == "active"
    staff.get_by_role("button", name="対応完了").click()
    staff.get_by_role("button", name="完了する").click()
    expect(row(staff, handoff["id"])).to_have_count(0)  # gone from the open queue
    expect(staff.get_by_text("この会話は終了しています。")).to_be_visible()
    expect(staff.locator("#room-meta")).to_contain_text("対応完了")
    expect(row(interpreter, handoff["id"])).to_have_count(0)
    # The interpreter left the room with the resolve: it closes (the API answers 403 not_invited now).
    expect(interpreter.locator("#room")).to_be_hidden()
    expect(interpreter.get_by_text("左の一覧から会話を選んでください。")).to_be_visible()
    assert handoff_of(desk, sender)["status"] == "resolved"
    screenshot(staff, "staff-console-resolved")

    staff.get_by_label("対応完了した会話も表示").check()
    expect(row(staff, handoff["id"])).to_contain_text("対応完了")
    assert real_errors(staff) == []
    assert [error for error in real_errors(interpreter) if "status of 403" not in error] == []


def test_logged_out_the_console_shows_the_login_form_and_the_catalog_error(
    new_page: Callable[..., Any], desk: LiveApp
) -> None:
    page = new_page()
    page.goto(f"{desk.url}/staff")
    expect(page.get_by_role("heading", name="ログイン")).to_be_visible()
    expect(page.locator("#console-view")).to_be_hidden()
    expect(page.get_by_label("ユーザー名")).to_be_focused()
    page.get_by_label("ユーザー名").fill(STAFF[0])
    page.get_by_label("パスワード").fill("wrong-password")
    with page.expect_response("**/api/v1/auth/login") as response:
        page.get_by_label("パスワード").press("Enter")
    assert response.value.status == 401
    expect(page.get_by_role("alert")).to_have_text("ユーザー名またはパスワードが正しくありません。")
    expect(page.get_by_text("wrong username or password")).to_have_count(0)  # never the server's text
    expect(page.get_by_label("パスワード")).to_have_value("")

    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Username").fill(STAFF[0])
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("The username or password is not correct.")

    page.get_by_label("Password").fill(STAFF[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=re.compile("^Queue"))).to_be_focused()
    page.reload()  # the cookie keeps the session
    expect(page.locator("#console-view")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert real_errors(page) == []


def test_without_websocket_the_queue_updates_by_polling_and_marks_long_waits_and_callbacks(
    new_page: Callable[..., Any], desk: LiveApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = new_page()
    page.route_web_socket(WS_STAFF, lambda ws: ws.close(code=1011, reason="blocked by a proxy"))
    log_in(page, desk, STAFF, "?lang=en")
    expect(page.locator("#connection")).to_have_text("The connection is unstable: updating every 5 seconds.")

    monkeypatch.setattr(desk.components.desk, "now", lambda: datetime.now(UTC) + timedelta(minutes=7))
    sender = "console-polling-resident-1"
    say(desk, sender, "I need to talk to staff", "en")
    handoff = handoff_of(desk, sender)
    ticket = row(page, handoff["id"])
    expect(ticket).to_be_visible(timeout=12_000)  # within a poll or two
    expect(ticket).to_contain_text("English")
    expect(ticket).to_have_class(re.compile(r"\blong-wait\b"))
    expect(ticket.locator(".marker")).to_have_text("⚠ Waiting over 5 minutes")
    expect(ticket.locator(".wait")).to_have_text(re.compile(r"^Waiting 0[67]:\d\d$"))

    monkeypatch.setattr(desk.components.engine.services.desk, "is_open", lambda bot: False)
    caller = "console-callback-resident-1"
    say(desk, caller, "staff please", "en")
    say(desk, caller, make_payload("inform", callback="phone"), "en")
    say(desk, caller, "090-1234-5678", "en")
    say(desk, caller, make_payload("inform", consent="yes"), "en")
    callback = handoff_of(desk, caller)
    assert callback["status"] == "callback"
    card = row(page, callback["id"])
    expect(card).to_be_visible(timeout=12_000)
    expect(card).to_contain_text(f"Ticket {callback['ticket']}")
    expect(card).to_contain_text("Call back 09012345678")
    expect(card.locator(".status")).to_have_text("Call back")
    page.get_by_label("Show", exact=True).select_option("callback")
    expect(page.locator("#queue button.ticket.queued")).to_have_count(0)
    expect(card).to_be_visible()
    screenshot(page, "staff-console-polling-callback")
    assert real_errors(page) == []


def test_the_console_has_no_serious_accessibility_violations(new_page: Callable[..., Any], desk: LiveApp) -> None:
    axe = axe_script()
    page = new_page(bypass_csp=True)
    page.goto(f"{desk.url}/staff")
    expect(page.locator("#login-form")).to_be_visible()
    assert serious_violations(page, axe) == []
    page.get_by_label("ユーザー名").fill("nobody")
    page.get_by_label("パスワード").fill("x")
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("alert")).not_to_be_empty()
    assert serious_violations(page, axe) == []

    sender = "console-axe-resident-1"
    say(desk, sender, "hello", "vi")
    say(desk, sender, "I would like to talk to staff", "vi")
    handoff = handoff_of(desk, sender)
    log_in(page, desk, STAFF)
    expect(row(page, handoff["id"])).to_be_visible()
    for _ in range(40):  # keyboard only: Tab from the queue heading to the request, Enter opens it
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED)["id"] == str(handoff["id"]):
            break
    focused = page.evaluate(FOCUSED)
    assert focused["id"] == str(handoff["id"])
    assert focused["outline"] != "none" and focused["outlineWidth"] >= 2  # the focus is visible
    page.keyboard.press("Enter")
    expect(page.locator("#room-heading")).to_be_focused()
    expect(page.locator("#messages li.msg").first).to_be_visible()
    page.get_by_role("button", name="担当する").click()
    expect(page.get_by_label("返信（住民の言語に翻訳して送られます）")).to_be_enabled()
    page.locator("#messages .original-toggle").first.click()
    page.get_by_role("button", name="対応完了").click()
    assert serious_violations(page, axe) == []
    screenshot(page, "staff-console-axe")
    page.goto(f"{desk.url}/staff?lang=en")
    expect(page.locator("#console-view")).to_be_visible()
    assert serious_violations(page, axe) == []


def real_errors(page: Any) -> list[str]:
    """The page's console errors but Chromium's note on the 401 of the first "who am I?" while logged out."""
    return [error for error in page.console_errors if "status of 401" not in error]


def say(live_app: LiveApp, sender: str, text: str, language: str) -> None:
    """A resident's message through the JSON API (bot ``residents``)."""
    response = httpx.post(f"{live_app.url}/api/v1/messages",
                          json={"bot": "residents", "sender": sender, "text": text, "lang": language})
    assert response.status_code == 200, response.text


def conversation_of(live_app: LiveApp, handoff_id: int) -> str:
    view = live_app.components.desk.store.handoff(handoff_id)
    assert view is not None
    return view.conversation_id


def user_of(live_app: LiveApp, username: str) -> Any:
    return next(u for u in live_app.components.accounts.users() if u.username == username)
