"""Staff messages reach LINE residents by push, through the outbox, exactly once."""

from __future__ import annotations

import asyncio
import copy

from bot.desk.outbox import Outbox
from connectors.line import LineSettings
from connectors.line.push import LinePusher
from connectors.line.tests.conftest import LineApp, recorded
from connectors.line.tests.fake_line import FakeLine
from tests.shared_fixtures import set_desk_open

CITY_USER = "U8f3a2b1c4d5e6f708192a3b4c5d6e7f8"


def ask_for_staff(line_app: LineApp) -> int:
    set_desk_open(line_app.components)
    payload = copy.deepcopy(recorded("text_message.json"))
    payload["events"][0]["message"]["text"] = "職員と話したい"
    assert line_app.post("city_hall", payload).status_code == 200
    accounts = line_app.components.accounts
    staff = accounts.create_user("sato", "password-1", "staff", display_name="佐藤")
    [handoff] = line_app.components.desk.queue(staff)
    line_app.components.desk.claim(staff, handoff["id"])
    line_app.components.desk.post(staff, handoff["id"], "", canned="one_moment")
    return int(handoff["id"])


def outbox(line_app: LineApp, settings: LineSettings) -> Outbox:
    components = line_app.components
    return Outbox(components.store.sessions, {"line": LinePusher(settings)}, audience=components.engine)


def test_staff_messages_are_pushed_to_the_line_user_once(
    line_app: LineApp, line_settings: LineSettings, fake_line: FakeLine
) -> None:
    ask_for_staff(line_app)
    sent = asyncio.run(outbox(line_app, line_settings).run_once())
    assert sent == 2  # "佐藤 joined" and the canned reply
    pushes = fake_line.to("/v2/bot/message/push")
    texts = [m["text"] for push in pushes for m in push.json["messages"] if m["type"] == "text"]
    assert {push.json["to"] for push in pushes} == {CITY_USER}
    assert any("佐藤" in text for text in texts)
    assert line_app.components.catalog.text("canned.one_moment", "ja") in texts
    assert all(push.headers.get("x-line-retry-key") for push in pushes)
    assert asyncio.run(outbox(line_app, line_settings).run_once()) == 0  # nothing twice


def test_nothing_is_pushed_to_someone_who_unfollowed(
    line_app: LineApp, line_settings: LineSettings, fake_line: FakeLine
) -> None:
    ask_for_staff(line_app)
    line_app.components.engine.lifecycle("city_hall", "line", CITY_USER, "unfollow", None)
    assert asyncio.run(outbox(line_app, line_settings).run_once()) == 0
    assert fake_line.to("/v2/bot/message/push") == []
