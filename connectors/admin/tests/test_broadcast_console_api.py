"""What the console's broadcasts page asks of the admin API besides sending: recent broadcasts and a
preview of one language. Only admins may ask (the admin token, or an admin's session: bearer or the
console's cookie); bad input is a 422; a preview stores nothing.

Followers of the city hall bot: a web resident reading English, a kiosk resident reading Vietnamese
and a web resident reading easy Japanese; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.app import Components, build_components, create_app
from bot.config import AppConfig, NotificationsConfig
from bot.storage import models
from bot.topics import TopicContract
from bot.types import InboundMessage
from connectors.staff.api import COOKIE
from tests.fakes import RuleNlu
from tests.shared_fixtures import install_tiny_mt
from translations.catalog import Catalog

ADMIN_TOKEN = "admin-secret-token-for-the-console"
TEXTS = {"en": "The city hall is closed on Monday.", "ja": "月曜日は市役所が休みです。"}
FOLLOWERS = (("web", "web-en-000000000001", "en"), ("kiosk", "kiosk-vi-0000000001", "vi"),
             ("web", "web-easy-00000000001", "ja-x-easy"))
LIST = "/api/v1/admin/broadcasts"
RENDER = "/api/v1/admin/broadcasts/render"


@dataclass
class Admin:
    """The app, its client and a session token per console role."""

    components: Components
    client: TestClient
    tokens: dict[str, str]

    def bearer(self, who: str) -> dict[str, str]:
        token = ADMIN_TOKEN if who == "token" else self.tokens[who]
        return {"authorization": f"Bearer {token}"}

    def rows(self, table: type[Any]) -> int:
        with self.components.store.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
def admin(make_config: Callable[..., AppConfig], shipped_content: tuple[Any, Catalog, TopicContract],
          database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Admin]:
    """Without quiet hours (deliveries are due whatever the time), and without the app's lifespan:
    nothing is delivered in the background, the tests deliver when they mean to."""
    monkeypatch.setenv("YORISOI_ADMIN_TOKEN", ADMIN_TOKEN)
    config = make_config(database_url).model_copy(update={"notifications": NotificationsConfig()})
    components = build_components(config, nlu=RuleNlu(), content=shipped_content)
    for channel, sender, language in FOLLOWERS:
        components.engine.handle(InboundMessage("city_hall", channel, sender, "hello", language=language))
    accounts = components.accounts
    tokens = {}
    for name, role in (("root", "admin"), ("sato", "staff"), ("nguyen", "interpreter")):
        accounts.create_user(name, "password-1", role, display_name=name)
        session = accounts.login(name, "password-1")
        assert session is not None
        tokens[name] = session.token
    yield Admin(components, TestClient(create_app(components.config, components=components)), tokens)
    components.database.dispose()


def render(admin: Admin, body: dict[str, Any], who: str = "root") -> Any:
    return admin.client.post(RENDER, json=body, headers=admin.bearer(who))


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", LIST, None),
    ("POST", RENDER, {"bot": "city_hall", "message": TEXTS, "language": "vi"}),
])
def test_only_admins_list_and_preview(admin: Admin, method: str, path: str, body: dict[str, Any] | None) -> None:
    def ask(headers: dict[str, str]) -> int:
        return admin.client.request(method, path, json=body, headers=headers).status_code

    assert ask({}) == 401
    assert ask({"authorization": "Bearer not-a-session"}) == 401
    assert ask(admin.bearer("nguyen")) == 403  # an interpreter's session
    assert ask(admin.bearer("sato")) == 403  # a member of staff is no admin either
    assert ask({"cookie": f"{COOKIE}={admin.tokens['nguyen']}"}) == 403
    assert ask(admin.bearer("token")) == 200
    assert ask(admin.bearer("root")) == 200
    assert ask({"cookie": f"{COOKIE}={admin.tokens['root']}"}) == 200  # the console page uses its cookie


def test_an_admins_console_cookie_also_sends_and_follows_broadcasts(admin: Admin) -> None:
    cookie = {"cookie": f"{COOKIE}={admin.tokens['root']}"}
    sent = admin.client.post(LIST, json={"bot": "city_hall", "message": TEXTS}, headers=cookie)
    assert sent.status_code == 200 and sent.json()["recipients"] == 3
    assert admin.client.get(f"{LIST}/{sent.json()['id']}", headers=cookie).json()["pending"] == 3
    interpreter = {"cookie": f"{COOKIE}={admin.tokens['nguyen']}"}
    assert admin.client.post(LIST, json={"bot": "city_hall", "message": TEXTS}, headers=interpreter).status_code == 403


@pytest.mark.parametrize(("query", "code"), [
    ("?limit=0", "invalid_request"), ("?limit=101", "invalid_request"), ("?limit=many", "invalid_request"),
    ("?bot=fire_station", "unknown_bot"),
])
def test_a_bad_listing_is_refused(admin: Admin, query: str, code: str) -> None:
    answer = admin.client.get(f"{LIST}{query}", headers=admin.bearer("root"))
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, code)


@pytest.mark.parametrize(("body", "code"), [
    ({"bot": "city_hall", "message": TEXTS, "language": "xx"}, "unsupported_language"),
    ({"bot": "city_hall", "message": TEXTS}, "invalid_request"),
    ({"bot": "city_hall", "message": TEXTS, "language": "vi", "dry_run": True}, "invalid_request"),
    ({"bot": "fire_station", "message": TEXTS, "language": "vi"}, "unknown_bot"),
    ({"bot": "city_hall", "message": {}, "language": "vi"}, "empty_message"),
    ({"bot": "city_hall", "message": {"en": "  "}, "language": "vi"}, "empty_message"),
    ({"bot": "city_hall", "message": {"xx": "hello"}, "language": "vi"}, "unsupported_language"),
    ({"bot": "city_hall", "message": {"key": "no.such.key"}, "language": "vi"}, "unknown_catalog_key"),
    ({"bot": "city_hall", "message": {"key": "greet.welcome"}, "language": "vi"}, "missing_params"),
    ({"bot": "city_hall", "message": {"en": "x" * 5001}, "language": "vi"}, "message_too_long"),
])
def test_a_bad_preview_is_refused(admin: Admin, body: dict[str, Any], code: str) -> None:
    answer = render(admin, body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, code)


def test_the_listing_is_newest_first_with_counts_and_without_the_texts(admin: Admin) -> None:
    headers = admin.bearer("root")
    first = admin.client.post(LIST, json={"bot": "city_hall", "message": TEXTS, "kind": "disaster"}, headers=headers)
    second = admin.client.post(LIST, json={"bot": "city_hall", "message": {"key": "demo.notice"},
                                           "audience": {"channel": "kiosk"}}, headers=admin.bearer("token"))
    listed = admin.client.get(LIST, headers=headers).json()["broadcasts"]
    for item in listed:
        assert datetime.fromisoformat(item.pop("created_at")).tzinfo is not None  # the browser shows local time
    assert listed == [
        {"id": second.json()["id"], "bot": "city_hall", "kind": "notice", "status": "queued",
         "created_by": "admin-token", "message": {"key": "demo.notice"}, "recipients": 1, "sent": 0, "failed": 0,
         "skipped": 0, "pending": 1},
        {"id": first.json()["id"], "bot": "city_hall", "kind": "disaster", "status": "queued", "created_by": "root",
         "message": {"languages": ["en", "ja"]}, "recipients": 3, "sent": 0, "failed": 0, "skipped": 0, "pending": 3},
    ]
    assert TEXTS["ja"] not in json.dumps(listed, ensure_ascii=False)  # a list never carries the message itself

    admin.components.engine.lifecycle("city_hall", "web", FOLLOWERS[0][1], "unfollow", None)
    admin.components.notifications.deliver_due()
    newest, oldest = admin.client.get(LIST, headers=headers).json()["broadcasts"]
    assert {key: oldest[key] for key in ("status", "sent", "skipped", "pending")} == {
        "status": "done", "sent": 2, "skipped": 1, "pending": 0}
    assert (newest["status"], newest["sent"]) == ("done", 1)
    assert [item["id"] for item in admin.client.get(f"{LIST}?limit=1", headers=headers).json()["broadcasts"]] == [
        second.json()["id"]]
    assert admin.client.get(f"{LIST}?bot=library", headers=headers).json() == {"broadcasts": []}


def test_a_preview_shows_what_each_reader_gets_and_stores_nothing(admin: Admin) -> None:
    catalog = admin.components.catalog
    assert render(admin, {"bot": "city_hall", "message": TEXTS, "language": "en"}).json() == {
        "language": "en", "text": TEXTS["en"], "own_text": True, "machine_translated": False, "original": None,
        "original_language": None, "fallback_language": None}
    easy = render(admin, {"bot": "city_hall", "message": TEXTS, "language": "ja-x-easy"}).json()
    assert (easy["text"], easy["own_text"]) == (TEXTS["ja"], True)  # easy-Japanese readers read the Japanese text
    vietnamese = render(admin, {"bot": "city_hall", "message": TEXTS, "language": "vi"}).json()
    assert vietnamese == {  # no model installed: the English text, with a note in Vietnamese
        "language": "vi", "own_text": False, "machine_translated": False, "original": None, "original_language": None,
        "fallback_language": "en",
        "text": catalog.text("notification.other_language", "vi", language_name="English", text=TEXTS["en"])}
    keyed = render(admin, {"bot": "city_hall", "message": {"key": "demo.notice"}, "language": "ko"}).json()
    assert (keyed["text"], keyed["own_text"], keyed["fallback_language"]) == (
        catalog.text("demo.notice", "ko"), catalog.raw("demo.notice", "ko") is not None,
        None if catalog.raw("demo.notice", "ko") is not None else "en")
    assert admin.rows(models.Notification) == 0 and admin.rows(models.Delivery) == 0


def test_a_preview_machine_translates_as_delivery_would_but_leaves_the_memory_alone(
    admin: Admin, tiny_mt_archives: list[Path]
) -> None:
    install_tiny_mt(tiny_mt_archives, admin.components.config.data_path)
    shown = render(admin, {"bot": "city_hall", "message": {"ja": "こんにちは"}, "language": "en"}).json()
    assert shown["machine_translated"] is True and "hello" in shown["text"]
    assert (shown["original"], shown["original_language"], shown["own_text"]) == ("こんにちは", "ja", False)
    assert admin.rows(models.TranslationMemoryEntry) == 0
    assert admin.rows(models.Notification) == 0
