"""Fixtures of the e-mail tests: a real SMTP server (aiosmtpd) on a free loopback port, and a deployment using it."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from bot.app import Components, build_components, create_app
from bot.config import AppConfig
from bot.storage import models
from bot.types import InboundMessage
from tests.fakes import RuleNlu
from tests.shared_fixtures import Clock

ADMIN_TOKEN = "email-tests-admin-token"
#: 10:00 in Tokyo: outside the quiet hours.
MORNING = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)


def free_port() -> int:
    """A TCP port nothing listens on right now (on loopback)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Inbox:
    """The aiosmtpd handler: keeps what it accepted; ``refuse`` maps an address to SMTP replies to give first."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        with self.lock:
            replies = self.refuse.get(address)
            if replies:
                return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        """The e-mails accepted for ``address``."""
        with self.lock:
            return [message for message in self.messages if message["To"].addresses[0].addr_spec == address]


@dataclass
class SmtpServer:
    """A running aiosmtpd server (``stop()`` takes it down: the port then refuses connections)."""

    inbox: Inbox
    port: int
    controller: Controller

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on a free loopback port, without TLS or login (as a local relay)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    server = SmtpServer(inbox, port, controller)
    try:
        yield server
    finally:
        if controller._thread is not None:  # not stopped by the test
            controller.stop()


@dataclass
class Deployment:
    """A deployment whose e-mail channel sends to :class:`SmtpServer`, with an HTTP client (no background loops:
    tests run effects and delivery rounds themselves)."""

    components: Components
    client: TestClient
    clock: Clock
    smtp: SmtpServer

    def chat(self, sender: str, text: str, language: str = "vi") -> dict[str, Any]:
        response = self.client.post("/api/v1/messages", json={"bot": "city_hall", "sender": sender, "text": text,
                                                              "lang": language})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def updates(self, sender: str) -> list[str]:
        response = self.client.get(f"/api/v1/conversations/city_hall/{sender}/updates")
        return [message["text"] for message in response.json()["messages"]]

    def run_effects(self) -> int:
        return self.components.worker.run_once()

    def deliver(self) -> bool:
        return asyncio.run(self.components.delivery.run_once())

    def broadcast(self, texts: dict[str, str], **audience: object) -> dict[str, Any]:
        response = self.client.post("/api/v1/admin/broadcasts", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                                    json={"bot": "city_hall", "audience": audience, "message": texts})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def status(self, broadcast: int) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/admin/broadcasts/{broadcast}",
                                   headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        data: dict[str, Any] = response.json()
        return data

    def confirmed_resident(self, sender: str, address: str, language: str = "vi") -> str:
        """A widget resident with a confirmed address (the consent flow itself is tested over HTTP); the token."""
        return confirmed_resident(self.components, sender, address, language)

    def contacts(self) -> list[models.Contact]:
        with self.components.store.sessions() as session:
            return list(session.query(models.Contact).all())


def confirmed_resident(components: Components, sender: str, address: str, language: str) -> str:
    """A widget resident of ``city_hall`` with a confirmed e-mail address; returns their link token."""
    components.engine.handle(InboundMessage("city_hall", "web", sender, "hello", language=language))
    assert components.contacts is not None
    store = components.contacts.store
    token = store.link_token(f"test:{sender}")
    store.subscribe("city_hall", "web", sender, "email", address, language, token)
    assert store.confirm(token) is not None
    return token


def body(message: EmailMessage, kind: str = "plain") -> str:
    """The text of the message's ``plain`` or ``html`` part."""
    part = message.get_body((kind,))
    assert part is not None, f"no {kind} part"
    return str(part.get_content())


def path_of(url: str) -> str:
    """The path and query of an absolute link in an e-mail (the test client is the server)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def deployment(database_url: str, make_config: Callable[..., AppConfig], smtp: SmtpServer,
               shipped_content: tuple[Any, Any, Any],
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    """The shipped config on ``database_url`` with ``connectors.email`` pointed at :func:`smtp`."""
    monkeypatch.setenv("YORISOI_ADMIN_TOKEN", ADMIN_TOKEN)
    config = make_config(database_url)
    email = {"enabled": True, "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "security": "none",
             "from_address": "Yorisoi City <noreply@city.example>", "max_recipients": 2, "timeout_seconds": 5}
    config = config.model_copy(update={"connectors": {**config.connectors, "email": email}})
    clock = Clock(MORNING)
    components = build_components(config, nlu=RuleNlu(), content=shipped_content, now=clock)
    client = TestClient(create_app(config, components=components))  # no `with`: no background loops
    yield Deployment(components, client, clock, smtp)
    components.live.close()
    components.database.dispose()
