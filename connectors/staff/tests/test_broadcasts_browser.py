"""The broadcasts page in Debian's Chromium: an admin composes a broadcast to the library's widget
followers with texts in Japanese and English only, is warned about the followers reading Nepali and
Portuguese, reads what they would get, confirms, sends and watches it reach "done"; the dead letters
of a broadcast; interpreters never see the page; axe-core finds nothing, at 1280 px and at 360 px.

The broadcasts are disaster alerts: config.yml's quiet hours (21:00-08:00 in Tokyo) hold notices back,
and these tests must pass at any hour. Deliveries are run by the app's housekeeping loop every 15 s;
the tests run them at once, as the loop would (``notifications.deliver_due``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from bot.enums import DeliveryStatus, NotificationKind
from bot.notifications import Audience, NotificationContent
from bot.storage import models
from connectors.web.tests.live_server import LiveApp, axe_script, browser, live_app, new_page, screenshot

__all__ = ["browser", "live_app", "new_page"]
pytestmark = pytest.mark.browser

ADMIN = ("chief", "password-9")
INTERPRETER = ("lan", "password-8")
JAPANESE = "明日は図書館の臨時休館日です。"
ENGLISH = "The library is closed tomorrow."
#: Followers who read a language the broadcast has no text in.
READERS = {"ne": "नेपाली", "pt": "Português"}


@pytest.fixture
def site(live_app: LiveApp) -> Iterator[LiveApp]:
    """The shared live app with an admin and an interpreter."""
    accounts = live_app.components.accounts
    accounts.create_user(*ADMIN, "admin", display_name="課長", language="ja", replace=True)
    accounts.create_user(*INTERPRETER, "interpreter", display_name="Lan", language="ja", interprets=("vi",),
                         replace=True)
    yield live_app


def follow(site: LiveApp, language: str) -> str:
    """A new widget conversation with the library bot, in ``language``; returns its sender id."""
    sender = f"broadcast-{language}-{uuid.uuid4().hex[:12]}"
    response = httpx.post(f"{site.url}/api/v1/messages",
                          json={"bot": "library", "sender": sender, "text": "hello", "lang": language})
    assert response.status_code == 200, response.text
    return sender


def log_in(page: Any, site: LiveApp, user: tuple[str, str]) -> None:
    page.goto(f"{site.url}/staff")
    page.get_by_label("ユーザー名").fill(user[0])
    page.get_by_label("パスワード").fill(user[1])
    page.get_by_role("button", name="ログイン").click()
    expect(page.locator("#console-view")).to_be_visible()


def card(page: Any, code: str) -> Any:
    return page.locator(f'.lang-card[data-language="{code}"]')


def audience_language(page: Any, name: str) -> Any:
    return page.locator('fieldset[data-audience="languages"]').get_by_label(name, exact=True)


def compose(page: Any) -> None:
    """The library's widget followers reading Nepali or Portuguese, a disaster alert in ja and en."""
    page.get_by_label("ボット").select_option(label="図書館案内")
    page.locator('fieldset[data-audience="channel"]').get_by_label("ウェブ").check()
    for name in READERS.values():
        audience_language(page, name).check()
    page.get_by_label("災害情報").check()
    page.get_by_role("textbox", name="日本語", exact=True).fill(JAPANESE)
    page.get_by_role("textbox", name="English", exact=True).fill(ENGLISH)


def real_errors(page: Any) -> list[str]:
    """Console errors but Chromium's note on a 401 of the first "who am I?" while logged out."""
    return [error for error in page.console_errors if "status of 401" not in error]


def test_an_admin_previews_sends_and_watches_a_broadcast_reach_everyone(
    new_page: Callable[..., Any], site: LiveApp
) -> None:
    senders = {code: follow(site, code) for code in READERS}
    expected = site.components.notifications.preview(
        Audience("library", channels=("web",), languages=tuple(READERS)),
        NotificationContent.curated({"ja": JAPANESE, "en": ENGLISH})).recipients
    assert expected >= len(senders)
    catalog = site.components.catalog
    before = notifications(site)

    page = new_page()
    log_in(page, site, ADMIN)
    page.get_by_role("navigation").get_by_role("link", name="一斉配信").click()
    expect(page.get_by_role("heading", name="一斉配信", exact=True)).to_be_visible()
    expect(page.locator("#bc-recent li").first.or_(page.get_by_text("まだ配信はありません。"))).to_be_visible()

    compose(page)
    expect(page.get_by_text("配信停止時間帯を無視して、夜間でもすぐに届きます。")).to_be_visible()
    expect(card(page, "ja").locator(".flag")).to_have_text("入力済み")
    expect(card(page, "ne").locator(".flag")).to_have_text("未入力")
    expect(card(page, "ja-x-easy").locator(".flag")).to_have_text("日本語の本文が届きます")

    page.get_by_role("button", name="プレビュー").click()
    preview = page.locator("#bc-preview")
    expect(preview.get_by_role("heading", name="プレビュー")).to_be_focused()
    expect(preview.locator("#bc-recipients")).to_have_text(f"受信者：{expected}人")
    expect(preview.get_by_text("⚠ 本文のない言語を読む受信者がいます：")).to_be_visible()
    expect(preview.locator("#bc-missing-list li")).to_have_text(list(READERS.values()))
    expect(card(page, "ne").locator(".flag")).to_have_text("⚠ 本文のない受信者がいます")
    expect(card(page, "ko").locator(".flag")).to_have_text("未入力")  # nobody reads Korean here

    rendered = preview.locator("#bc-rendered")  # the first language without a text, rendered by the server
    expect(rendered.get_by_role("heading")).to_have_text("नेपालीの利用者に届く内容")
    expect(rendered.locator(".badge")).to_have_text("この言語の本文なし：Englishの本文を案内付きで送ります")
    nepali = catalog.text("notification.other_language", "ne", language_name="English", text=ENGLISH)
    expect(rendered.locator("p.text")).to_have_text(nepali)
    expect(rendered).to_have_text(  # nothing else in the box (heading, where the text comes from, the text)
        f"नेपालीの利用者に届く内容この言語の本文なし：Englishの本文を案内付きで送ります{nepali}")
    preview.get_by_label("読む人の言語").select_option("en")
    preview.get_by_role("button", name="この言語で表示").click()
    expect(rendered.locator("p.text")).to_have_text(ENGLISH)
    expect(rendered.locator(".badge")).to_have_text("この言語で書かれた本文")

    page.get_by_role("textbox", name="English", exact=True).fill(f"{ENGLISH} Sorry.")
    expect(page.get_by_text("内容が変わりました。送信する前に、もう一度プレビューしてください。")).to_be_visible()
    expect(page.get_by_role("button", name="送信…")).to_be_disabled()
    page.get_by_role("textbox", name="English", exact=True).fill(ENGLISH)  # back to what was previewed
    expect(page.get_by_role("button", name="送信…")).to_be_enabled()

    page.get_by_role("button", name="送信…").click()
    confirm = page.locator("#bc-confirm")
    expect(confirm).to_contain_text(f"{expected}人に送信します。送信すると取り消せません。")
    expect(confirm).to_contain_text("災害情報なので、配信停止時間帯でもすぐに届きます。")
    expect(page.get_by_role("button", name="送信する")).to_be_focused()
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    expect(page.get_by_role("button", name="送信…")).to_be_focused()
    assert notifications(site) == before  # cancelled: nothing was sent

    page.get_by_role("button", name="送信…").click()
    with page.expect_response(lambda r: r.url.endswith("/api/v1/admin/broadcasts") and r.request.method == "POST"
                              ) as sent:
        page.get_by_role("button", name="送信する").click()
    broadcast_id = sent.value.json()["id"]
    progress = page.locator("#bc-progress")
    expect(progress.get_by_role("heading", level=3)).to_have_text(f"配信 #{broadcast_id}（災害情報・図書館案内）")
    expect(progress.get_by_role("heading", level=3)).to_be_focused()
    expect(page.locator("#bc-preview")).to_be_hidden()  # sending again needs a new preview

    site.components.notifications.deliver_due()  # what the housekeeping loop does every 15 s
    done = f"完了しました：送信 {expected}件、失敗 0件、スキップ 0件。"
    expect(progress.get_by_role("status")).to_have_text(done)
    assert progress.get_by_role("status").get_attribute("aria-live") == "polite"
    expect(progress.locator("#bc-percent")).to_have_text(f"100%（{expected}件中{expected}件）")
    assert progress.get_by_role("progressbar").get_attribute("value") == "100"
    expect(progress.locator("#bc-count-sent")).to_have_text(str(expected))
    expect(progress.locator("#bc-dead")).to_be_hidden()
    item = page.locator(f'#bc-recent button[data-id="{broadcast_id}"]')
    expect(item).to_contain_text("完了")
    expect(item).to_contain_text("本文：日本語、English")
    screenshot(page, "staff-broadcasts-done")

    for code, sender in senders.items():  # each follower got it on their widget, in their language's wrapping
        updates = httpx.get(f"{site.url}/api/v1/conversations/library/{sender}/updates").json()["messages"]
        texts = [message["text"] for message in updates]
        assert texts == [catalog.text("notification.other_language", code, language_name="English", text=ENGLISH)]
    assert real_errors(page) == []


def test_the_progress_of_a_broadcast_lists_its_dead_letters_without_any_resident_text(
    new_page: Callable[..., Any], site: LiveApp
) -> None:
    broadcast_id, failed = broadcast_with_a_dead_letter(site)
    page = new_page()
    log_in(page, site, ADMIN)
    page.goto(f"{site.url}/staff/broadcasts?lang=en")
    item = page.locator(f'#bc-recent button[data-id="{broadcast_id}"]')
    expect(item).to_contain_text("Failed 1")
    item.focus()
    page.keyboard.press("Enter")  # keyboard only
    progress = page.locator("#bc-progress")
    expect(progress.get_by_role("heading", level=3)).to_have_text(
        f"Broadcast #{broadcast_id} (Disaster alert, Library Guide)")
    expect(progress.get_by_role("status")).to_have_text(re.compile(r"^Done: \d+ sent, 1 failed, 0 skipped\.$"))
    expect(progress.locator("#bc-count-failed")).to_have_text("1")
    expect(progress.get_by_role("heading", name="Not delivered (dead letters)")).to_be_visible()
    expect(progress.locator("#bc-dead-list li")).to_have_text(
        [f"Conversation {failed} (Web): LineApiError 400, after 8 attempts"])
    expect(progress).not_to_contain_text("hello")  # what the residents wrote is never shown
    assert real_errors(page) == []


def test_interpreters_neither_see_nor_reach_the_broadcasts_page(new_page: Callable[..., Any], site: LiveApp) -> None:
    page = new_page()
    log_in(page, site, INTERPRETER)
    expect(page.get_by_role("link", name="一斉配信")).to_have_count(0)
    expect(page.get_by_role("navigation")).to_have_count(0)
    response = page.goto(f"{site.url}/staff/broadcasts")
    assert response is not None and response.status == 403
    expect(page.get_by_text("一斉配信は管理者だけが使えます。")).to_be_visible()
    expect(page.locator("textarea")).to_have_count(0)
    page.get_by_role("link", name="対応一覧に戻る").click()
    expect(page.locator("#console-view")).to_be_visible()


@pytest.mark.parametrize("width", [1280, 360])
def test_the_broadcasts_page_has_no_accessibility_violations(
    new_page: Callable[..., Any], site: LiveApp, width: int
) -> None:
    axe = axe_script()
    broadcast_id, _failed = broadcast_with_a_dead_letter(site)
    for code in READERS:
        follow(site, code)
    page = new_page(bypass_csp=True, viewport={"width": width, "height": 800})
    log_in(page, site, ADMIN)
    page.goto(f"{site.url}/staff/broadcasts")
    expect(page.locator("#bc-recent li").first).to_be_visible()
    assert violations(page, axe) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width  # nothing wider than the screen

    compose(page)
    page.get_by_role("button", name="プレビュー").click()
    expect(page.locator("#bc-rendered p.text")).to_be_visible()
    page.get_by_role("button", name="送信…").click()
    expect(page.locator("#bc-confirm")).to_be_visible()
    assert violations(page, axe) == []
    page.get_by_role("button", name="キャンセル").click()

    page.locator(f'#bc-recent button[data-id="{broadcast_id}"]').click()
    expect(page.locator("#bc-dead-list li")).to_have_count(1)
    assert violations(page, axe) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    screenshot(page, f"staff-broadcasts-{width}")


def broadcast_with_a_dead_letter(site: LiveApp) -> tuple[int, str]:
    """A disaster alert to the library's widget followers, one of whose deliveries failed for good
    (set in SQL: a failure after every retry takes minutes of backoff); returns its id and that conversation."""
    follow(site, "vi")
    receipt = site.components.notifications.send(
        NotificationKind.DISASTER, Audience("library", channels=("web",)), NotificationContent.curated({"en": ENGLISH}),
        ADMIN[0])
    assert receipt.id is not None
    with site.components.store.sessions.begin() as session:
        delivery = session.scalars(select(models.Delivery).where(models.Delivery.notification_id == receipt.id)
                                   .order_by(models.Delivery.id).limit(1)).one()
        session.execute(update(models.Delivery).where(models.Delivery.id == delivery.id).values(
            status=DeliveryStatus.FAILED, reason="LineApiError 400", attempts=8))
        failed = delivery.conversation_id
    site.components.notifications.deliver_due()
    return receipt.id, failed


def notifications(site: LiveApp) -> int:
    """How many notifications the deployment has stored."""
    with site.components.store.sessions() as session:
        return len(session.scalars(select(models.Notification.id)).all())


def violations(page: Any, axe: str) -> list[dict[str, Any]]:
    """Every axe-core violation (WCAG 2.1 A/AA and best practices), whatever its impact."""
    page.add_script_tag(content=axe)
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
            resultTypes: ['violations']})"""
    )
    return [{"id": v["id"], "impact": v["impact"], "targets": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]]
