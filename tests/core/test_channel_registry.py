"""Channels are plugins: a new one is registered, configured and mounted without editing the core."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

import bot.app
from bot.app import Components, channel_policy, create_app
from bot.channels import (
    Address,
    Channel,
    ChannelConfigError,
    ChannelContext,
    ChannelKind,
    channel_settings,
    installed_channels,
)
from bot.config import ConfigError
from bot.desk.outbox import Outbox
from bot.types import Reply
from tests.fakes import RuleNlu
from translations.catalog import Catalog


class EchoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    greeting: str = "hello"


class EchoChannel:
    """A channel no core module knows: one route that says its greeting and the bots, and a send that records."""

    name: ClassVar[str] = "echo"
    kind: ClassVar[ChannelKind] = ChannelKind.PLATFORM
    built: ClassVar[list[EchoChannel]] = []

    def __init__(self, settings: EchoSettings, context: ChannelContext) -> None:
        self.settings = settings
        self.context = context
        self.sent: list[tuple[Address, Reply, str]] = []

    @classmethod
    def from_config(cls, section: Mapping[str, Any], context: ChannelContext) -> EchoChannel:
        channel = cls(channel_settings(EchoSettings, cls.name, section), context)
        cls.built.append(channel)
        return channel

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/echo")
        async def echo() -> dict[str, Any]:
            catalog = self.context.catalog()
            return {"greeting": self.settings.greeting, "bots": list(self.context.policy.bots),
                    "enabled": sorted(self.context.enabled), "bot_name": catalog.text("bot.library.name", "en")}

        return router

    async def send(self, address: Address, reply: Reply, language: str) -> bool:
        self.sent.append((address, reply, language))
        return True


@pytest.fixture
def with_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The installed channels plus ``echo`` (as a package's entry point would add it)."""
    installed: dict[str, type[Channel]] = {**installed_channels(), "echo": EchoChannel}
    monkeypatch.setattr(bot.app, "installed_channels", lambda: installed)
    EchoChannel.built.clear()


def app_with(components: Components, connectors: dict[str, dict[str, Any]]) -> Any:
    config = components.config.model_copy(update={"connectors": connectors})
    return create_app(config, components=components)


def test_the_shipped_channels_are_registered() -> None:
    assert {"web", "kiosk", "rasa", "line", "staff", "secure"} <= set(installed_channels())


@pytest.mark.usefixtures("with_echo")
def test_a_registered_channel_is_built_from_its_section_and_mounted(
    build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    components = build(nlu=rule_nlu)
    app = app_with(components, {**components.config.connectors, "echo": {"greeting": "ciao"}})
    with TestClient(app) as client:
        body = client.get("/echo").json()
        assert body["greeting"] == "ciao"
        assert body["bots"] == list(components.config.bots)
        assert "echo" in body["enabled"] and "web" in body["enabled"]
        assert body["bot_name"] == components.engine.catalog.text("bot.library.name", "en")
        assert client.get("/health").status_code == 200  # the core's own routes are still there
        assert 'href="/kiosk/' in client.get("/").text  # the widget links to the kiosk it knows is enabled
        assert client.get("/staff").status_code == 200  # the staff pages and the secure forms are channels too
        assert client.get("/secure/" + "a" * 24).status_code == 410  # served, and no such link
    [echo] = EchoChannel.built
    assert echo.context.handler is components.engine


@pytest.mark.usefixtures("with_echo")
def test_a_registered_channel_without_a_section_is_enabled_with_its_defaults(
    build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    components = build(nlu=rule_nlu)
    with TestClient(app_with(components, {})) as client:
        assert client.get("/echo").json()["greeting"] == "hello"


@pytest.mark.usefixtures("with_echo")
def test_a_disabled_channel_is_not_built(build: Callable[..., Components], rule_nlu: RuleNlu) -> None:
    components = build(nlu=rule_nlu)
    with TestClient(app_with(components, {"echo": {"enabled": False}, "kiosk": {"enabled": False}})) as client:
        assert client.get("/echo").status_code == 404
        assert client.get("/kiosk/library").status_code == 404
        assert 'href="/kiosk' not in client.get("/").text  # the widget links to the kiosk only when it is served
    assert EchoChannel.built == []


@pytest.mark.usefixtures("with_echo")
def test_the_catalog_a_channel_sees_follows_the_core(build: Callable[..., Components], rule_nlu: RuleNlu) -> None:
    components = build(nlu=rule_nlu)
    app = app_with(components, {})
    [echo] = EchoChannel.built
    assert echo.context.catalog() is components.engine.catalog
    with TestClient(app) as client:
        assert client.get("/echo").status_code == 200


@pytest.mark.parametrize(("connectors", "named"), [
    ({"nope": {}}, "connectors.nope: no such channel is installed"),
    ({"kiosk": {"idle_seconds": 1}}, "connectors.kiosk.idle_seconds"),
    ({"kiosk": {"languages": ["en", "xx"]}}, "connectors.kiosk.languages: 'xx' is not a configured language"),
    ({"kiosk": {"default_location": "a b"}}, "connectors.kiosk.default_location"),
    ({"kiosk": {"colour": "red"}}, "connectors.kiosk.colour: unknown key"),
    ({"web": {"default_bot": "zoo"}}, "connectors.web.default_bot: 'zoo' is not a configured bot"),
    ({"line": {"token": "x"}}, "connectors.line.token: unknown key"),
])
def test_a_bad_section_is_a_config_error_naming_the_key(
    build: Callable[..., Components], rule_nlu: RuleNlu, connectors: dict[str, dict[str, Any]], named: str
) -> None:
    components = build(nlu=rule_nlu)
    with pytest.raises(ConfigError) as raised:
        app_with(components, connectors)
    assert named in str(raised.value)


def test_the_staff_channel_needs_the_core_s_desk(build: Callable[..., Components], rule_nlu: RuleNlu) -> None:
    from connectors.staff.channel import StaffChannel

    components = build(nlu=rule_nlu)
    context = ChannelContext(handler=components.engine, policy=channel_policy(components.config),
                             catalog=lambda: components.engine.catalog, environ={}, enabled=frozenset({"staff"}))
    with pytest.raises(ChannelConfigError, match=r"connectors\.staff: .*enabled: false"):
        StaffChannel.from_config({}, context)


@pytest.mark.usefixtures("with_echo")
def test_the_outbox_sends_through_the_platform_channels(
    build: Callable[..., Components], rule_nlu: RuleNlu, monkeypatch: pytest.MonkeyPatch
) -> None:
    given: list[list[str]] = []

    class RecordingOutbox(Outbox):
        def __init__(self, sessions: Any, channels: Iterable[Channel], audience: Any = None) -> None:
            channels = list(channels)
            given.append([channel.name for channel in channels])
            super().__init__(sessions, channels, audience)

    monkeypatch.setattr(bot.app, "Outbox", RecordingOutbox)
    components = build(nlu=rule_nlu)
    with TestClient(app_with(components, {})):
        pass
    assert given == [["line", "echo"]]


def test_a_reloaded_catalog_reaches_every_channel(build: Callable[..., Components], rule_nlu: RuleNlu) -> None:
    components = build(nlu=rule_nlu)
    engine = components.engine
    with TestClient(create_app(components.config, components=components)) as client:
        assert client.get("/api/v1/ui/en").json()["strings"]["widget.send"] == engine.catalog.text("widget.send", "en")
        client.get("/staff?lang=en")  # the console renders its page once per catalog
        old = engine.catalog
        texts = {language: {key: old.raw(key, language) or "" for key in old.keys(language)}
                 for language in old.languages}
        texts["en"] = {**texts["en"], "widget.send": "Send it!", "staff.login_heading": "Reloaded console",
                       "kiosk.finish": "All done"}
        engine.replace_knowledge(dataclasses.replace(engine.services, catalog=Catalog(texts)), components.nlu)
        assert client.get("/api/v1/ui/en").json()["strings"]["widget.send"] == "Send it!"
        assert "All done" in str(client.get("/kiosk/api/ui/en").json()["strings"])
        assert "Reloaded console" in client.get("/staff?lang=en").text
