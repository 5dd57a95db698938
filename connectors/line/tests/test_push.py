"""Staff messages reach LINE residents by push, through the outbox, exactly once."""

from __future__ import annotations

import asyncio
import copy

from bot.channels import Address, ChannelContext
from bot.desk.outbox import Outbox
from bot.types import ChannelPolicy, Reply
from connectors.line import LineSettings
from connectors.line.channel import LineMessagingChannel
from connectors.line.tests.conftest import CHANNELS, LineApp, recorded
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


def context_of(line_app: LineApp, environ: dict[str, str] | None = None) -> ChannelContext:
    """What the app gives the LINE channel."""
    components = line_app.components
    config = components.config
    policy = ChannelPolicy(bots=tuple(config.bots), languages=config.languages,
                           default_language=config.default_language,
                           max_message_chars=config.dialogue.max_message_chars)
    return ChannelContext(handler=components.engine, policy=policy, catalog=lambda: components.engine.catalog,
                          environ=environ or {}, enabled=frozenset({"line"}))


def outbox(line_app: LineApp, settings: LineSettings) -> Outbox:
    """The outbox with the LINE channel (as the app's lifespan runs it)."""
    channel = LineMessagingChannel(settings, context_of(line_app))
    return Outbox(line_app.components.store.sessions, [channel], audience=line_app.components.engine)


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


def test_the_channel_sends_nothing_for_a_bot_without_line_credentials(
    line_app: LineApp, line_settings: LineSettings, fake_line: FakeLine
) -> None:
    channel = LineMessagingChannel(line_settings, context_of(line_app))
    assert asyncio.run(channel.send(Address("residents", CITY_USER, key="7"), Reply(text="hi"), "ja")) is False
    assert asyncio.run(channel.send(Address("city_hall", CITY_USER, key="7"), Reply(text="hi"), "ja")) is True
    [push] = fake_line.to("/v2/bot/message/push")
    assert push.json["to"] == CITY_USER and push.headers.get("x-line-retry-key")


def test_the_channel_reads_the_credentials_of_configured_bots_from_the_environment(line_app: LineApp) -> None:
    library = CHANNELS["library"]
    environ = {"LINE_LIBRARY_CHANNEL_SECRET": library.secret, "LINE_LIBRARY_ACCESS_TOKEN": library.access_token,
               "LINE_API_BASE": "http://127.0.0.1:9/"}
    channel = LineMessagingChannel.from_config({"enabled": True}, context_of(line_app, environ))
    assert channel.settings.channel("library") == library
    assert channel.settings.channel("city_hall") is None
    assert channel.settings.api_base == "http://127.0.0.1:9"
