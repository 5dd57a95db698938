"""Fixtures of the LINE tests: a fake Messaging API and an app with the LINE webhook on a real engine."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.app import Components
from bot.http_errors import install_error_handlers
from bot.types import ChannelPolicy
from connectors.line import LineChannel, LineConnector, LineSettings
from connectors.line.tests.fake_line import FakeLine
from tests.fakes import RuleNlu

PAYLOADS = Path(__file__).parent / "payloads"
CHANNELS = {
    "city_hall": LineChannel(secret="city-hall-channel-secret", access_token="city-hall-access-token"),
    "library": LineChannel(secret="library-channel-secret", access_token="library-access-token"),
}


def recorded(name: str) -> dict[str, Any]:
    """A recorded webhook body from ``payloads/``."""
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    return data


def sign(secret: str, body: bytes) -> str:
    """The X-Line-Signature LINE computes for ``body``."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def fake_line() -> Iterator[FakeLine]:
    """The fake Messaging API, accepting the test channels' access tokens."""
    fake = FakeLine(tokens={channel.access_token for channel in CHANNELS.values()})
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def line_settings(fake_line: FakeLine) -> LineSettings:
    """Settings pointing at the fake; residents has no LINE account. The loading animation is kept
    out of the way (its own test sets ``loading_after_seconds``)."""
    return LineSettings(
        api_base=fake_line.base, data_api_base=fake_line.base, channels=CHANNELS, loading_after_seconds=600.0
    )


@dataclasses.dataclass
class LineApp:
    """A test client of an app serving only the LINE webhook, and the engine behind it."""

    client: TestClient
    components: Components

    def post(
        self, bot: str, payload: dict[str, Any], *, signature: str | None = "sign", secret: str | None = None
    ) -> Any:  # the TestClient's response (httpx or httpx2)
        """POST ``payload`` to ``bot``'s webhook, signed with ``secret`` (default: the bot's channel secret)."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"content-type": "application/json"}
        if signature == "sign":
            headers["x-line-signature"] = sign(secret or (CHANNELS[bot].secret if bot in CHANNELS else "none"), body)
        elif signature is not None:
            headers["x-line-signature"] = signature
        return self.client.post(f"/line/{bot}/webhook", content=body, headers=headers)


@pytest.fixture
def make_line_app(build: Callable[..., Components], rule_nlu: RuleNlu) -> Iterator[Callable[..., LineApp]]:
    """Build an app with the LINE router on a real engine; background tasks finish before ``post`` returns."""
    clients: list[TestClient] = []

    def make(settings: LineSettings) -> LineApp:
        components = build(nlu=rule_nlu)
        config = components.config
        policy = ChannelPolicy(
            bots=tuple(config.bots), languages=config.languages, default_language=config.default_language,
            max_message_chars=config.dialogue.max_message_chars,
        )
        app = FastAPI()
        install_error_handlers(app)
        app.include_router(LineConnector(settings).router(components.engine, policy))
        client = TestClient(app)
        clients.append(client)
        return LineApp(client, components)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def line_app(make_line_app: Callable[..., LineApp], line_settings: LineSettings) -> LineApp:
    """The LINE app with the default test settings."""
    return make_line_app(line_settings)
