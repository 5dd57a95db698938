"""Fixtures of the queue service's tests: the whole app on SQLite and PostgreSQL, a settable clock, a ticket machine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from bot.app import Components, build_components, create_app
from bot.config import AppConfig
from bot.testing import Conversation, standard_nlu
from bot.types import Reply
from nlu.types import Entity
from services.queue.runtime import QueueRuntime, queue_runtime
from tests.shared_fixtures import Clock

TOKYO = ZoneInfo("Asia/Tokyo")
#: A Wednesday morning: every ward office is open.
OPEN = datetime(2026, 12, 2, 10, 0, tzinfo=TOKYO)
TOKEN = "queue-ingest-token-for-tests"
#: Texts the rule NLU maps to the queue topics (the real NLU is trained on many more).
RULES = (
    ("混んで", "check_congestion"), ("crowded", "check_congestion"), ("waiting time", "check_congestion"),
    ("知らせて", "subscribe_queue_notice"), ("notify me", "subscribe_queue_notice"),
)


@dataclass
class QueueApp:
    """The app with the queue service: HTTP client, components, runtime, clock."""

    client: TestClient
    parts: Components
    runtime: QueueRuntime
    clock: Clock

    def post(self, office: str, token: str | None = TOKEN, **event: Any) -> Any:
        """Post one event to the ingest API (``at`` defaults to the clock)."""
        event.setdefault("at", self.clock().isoformat())
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post(f"/api/v1/queues/{office}/events", json=event, headers=headers)

    def issue(self, office: str, service: str, *tickets: int, minutes: float = 0.0) -> None:
        """Tickets taken at the machine (each a little later, ``minutes`` apart)."""
        for ticket in tickets:
            assert self.post(office, type="issued", ticket=ticket, service=service).status_code == 201
            self.clock.moment += timedelta(minutes=minutes or 0.1)

    def call(self, office: str, service: str, ticket: int, counter: str = "3") -> Any:
        """A counter calls ``ticket``."""
        response = self.post(office, type="called", ticket=ticket, service=service, counter=counter)
        assert response.status_code == 201, response.text
        return response.json()

    def office(self, office: str, lang: str = "en") -> dict[str, Any]:
        """``GET /api/v1/queues/{office}``."""
        self.clock.moment += timedelta(seconds=5)  # past the snapshot cache
        response = self.client.get(f"/api/v1/queues/{office}", params={"lang": lang})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def chat(self, channel: str = "web") -> Conversation:
        """A new resident writing to the city-hall bot."""
        return Conversation(self.parts.engine, bot="city_hall", channel=channel)

    def deliver(self) -> None:
        """What the background loops do after a commit: perform effects, deliver notifications."""
        self.parts.worker.run_once()
        self.parts.notifications.deliver_due()


def queue_nlu() -> Any:
    """The standard rule NLU plus the queue topics and the NLU's ``ward`` entity for the North Ward."""
    nlu = standard_nlu(RULES)
    nlu.entities["north ward"] = [Entity("ward", "north", "North Ward", 0, 10)]
    return nlu


@pytest.fixture
def queue_section() -> dict[str, Any]:
    """``connectors.queues`` of the test's app (a test parametrizes it to change settings)."""
    return {}


@pytest.fixture
def queue_app(make_config: Callable[..., AppConfig], shipped_content: Any, database_url: str,
              queue_section: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[QueueApp]:
    """The whole app on a fresh database (SQLite and PostgreSQL), with ``YORISOI_QUEUE_TOKEN`` set."""
    monkeypatch.setenv("YORISOI_QUEUE_TOKEN", TOKEN)
    clock = Clock(OPEN)
    config = make_config(database_url)
    config = config.model_copy(update={"connectors": {**config.connectors, "queues": queue_section}})
    parts = build_components(config, nlu=queue_nlu(), content=shipped_content, now=clock)
    app = create_app(parts.config, components=parts)
    assert parts.plugins is not None
    yield QueueApp(TestClient(app), parts, queue_runtime(parts.plugins), clock)
    parts.database.dispose()


def texts(replies: list[Reply]) -> str:
    """Every reply's text, one per line (for assertions that read like the chat)."""
    return "\n".join(reply.text for reply in replies)
