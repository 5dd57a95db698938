"""The task engine (Dramatiq): ``yorisoi worker`` performs effects from Redis and from RabbitMQ; the embedded
default needs no broker; a broker that is down costs the resident nothing (the effect waits in SQL)."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app import Components, create_app
from bot.cli_worker import NO_BROKER
from bot.effects import Effect, EffectRequest, NotifyEffect
from bot.enums import NotificationKind
from bot.notifications import Audience, NotificationContent
from bot.skill_registry import topic_skill
from bot.storage import models
from bot.tasks import BROKER_URL_ENV, TASK_QUEUE_ENV, TaskNotifier, create_broker
from bot.turn import Turn
from bot.types import InboundMessage
from tests.deploy.cluster import running_worker
from tests.fakes import RuleNlu

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("YORISOI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("YORISOI_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
NOTICE_KEY = "thanks.reply"
DEADLINE_SECONDS = 30.0


@dataclass(frozen=True)
class Broker:
    """A broker for one test: its URL and a queue name (and Redis namespace) of its own."""

    kind: str
    url: str
    queue: str

    def down(self) -> str:
        """The same broker on a port nobody listens on."""
        host, port = ("127.0.0.1:6379", "127.0.0.1") if self.kind == "redis" else ("127.0.0.1:5672", "127.0.0.1")
        return self.url.replace(host, f"{port}:{free_port()}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def reachable(url: str) -> bool:
    try:
        if url.startswith("redis"):
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        else:
            import pika

            pika.BlockingConnection(pika.URLParameters(url)).close()
        return True
    except Exception:
        return False


def clean_up(broker: Broker) -> None:
    """Delete the keys (Redis) or queues (RabbitMQ) of ``broker.queue``."""
    if broker.kind == "redis":
        import redis

        client = redis.Redis.from_url(broker.url)
        keys = list(client.scan_iter(f"{broker.queue}:*"))
        if keys:
            client.delete(*keys)
        client.close()
        return
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(broker.url))
    try:
        channel = connection.channel()
        for name in (broker.queue, f"{broker.queue}.DQ", f"{broker.queue}.XQ"):
            channel.queue_delete(name)
    finally:
        connection.close()


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """A reachable Redis or RabbitMQ with a fresh queue name, cleaned up afterwards."""
    url = REDIS_URL if request.param == "redis" else AMQP_URL
    if not reachable(url):
        if os.environ.get("CI"):
            pytest.fail(f"{request.param} is required in CI but {url} is not reachable")
        pytest.skip(f"{request.param} not reachable at {url}")
    made = Broker(request.param, url, f"yorisoi_test_{uuid.uuid4().hex[:10]}")
    try:
        yield made
    finally:
        clean_up(made)


def notify(turn: Turn) -> None:
    turn.effects.append(Effect("notify", {"key": NOTICE_KEY}))
    turn.say("form.cancelled")


def message(number: int = 1) -> InboundMessage:
    return InboundMessage(bot="library", channel="web", sender="task-engine-sender-01", text="remind me",
                          language="en", external_id=f"task-engine-{number:04d}")


def follow_ups(components: Components) -> list[str]:
    with components.store.sessions() as session:
        return list(session.scalars(select(models.Message.text).where(models.Message.out_of_turn.is_(True))
                                    .order_by(models.Message.id)))


def effect_statuses(components: Components) -> list[str]:
    with components.store.sessions() as session:
        return list(session.scalars(select(models.EffectRecord.status).order_by(models.EffectRecord.id)))


def wait_until(condition: Callable[[], bool], seconds: float = DEADLINE_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture
def wired(build: Callable[..., Components], tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Callable[..., Components]:
    """Components on a SQLite file whose commits go to ``url`` (None: embedded), with a skill that notifies."""

    def make(url: str | None, queue: str = "yorisoi") -> Components:
        if url is None:
            monkeypatch.delenv(BROKER_URL_ENV, raising=False)
        else:
            monkeypatch.setenv(BROKER_URL_ENV, url)
            monkeypatch.setenv(TASK_QUEUE_ENV, queue)
        return build(f"sqlite:///{tmp_path / 'tasks.db'}", nlu=RuleNlu().add("remind", "renew_loan"),
                     skills=[topic_skill("renew_loan", notify)])

    return make


@contextmanager
def worker(components: Components, broker: Broker, log_file: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``yorisoi worker`` on ``broker`` and the components' database, stopped (TERM, then KILL) on leaving."""
    config = components.config
    env = {**os.environ, BROKER_URL_ENV: broker.url, TASK_QUEUE_ENV: broker.queue,
           "YORISOI_DATABASE_URL": config.resolved_database_url, "YORISOI_DATA_DIR": str(config.data_path),
           "PYTHONPATH": str(ROOT)}
    with running_worker(env, log_file, seconds=120) as process:
        yield process.popen


def test_the_worker_performs_a_committed_effect_once(
    wired: Callable[..., Components], broker: Broker, tmp_path: Path
) -> None:
    components = wired(broker.url, broker.queue)
    expected = components.catalog.text(NOTICE_KEY, "en")
    with worker(components, broker, tmp_path / "worker.log") as process:
        result = components.engine.handle(message())
        assert result.topic == "renew_loan" and result.replies  # answered at once, by this process
        arrived = wait_until(lambda: bool(follow_ups(components)))
        assert arrived, (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
        assert process.poll() is None
        time.sleep(0.5)  # a second run (the commit's and the scheduler's) changes nothing
        assert follow_ups(components) == [expected]
        assert effect_statuses(components) == ["done"]


def test_with_the_broker_down_the_resident_is_answered_and_the_effect_waits_in_sql(
    wired: Callable[..., Components], broker: Broker, tmp_path: Path,
    caplog: pytest.LogCaptureFixture
) -> None:
    components = wired(broker.down(), broker.queue)
    caplog.set_level(logging.WARNING, logger="bot.tasks")
    with TestClient(create_app(components.config, components=components)) as client:
        started = time.monotonic()
        response = client.post("/api/v1/messages", json={"bot": "library", "sender": "task-engine-sender-02",
                                                         "text": "remind me please", "lang": "en",
                                                         "id": "task-engine-down-01"})
        assert response.status_code == 200
        assert response.json()["topic"] == "renew_loan" and response.json()["replies"]
        assert time.monotonic() - started < 10  # the unreachable broker did not hold the answer
        assert wait_until(lambda: any("could not enqueue" in r.getMessage() for r in caplog.records), 15)
        assert not any("remind me" in r.getMessage() for r in caplog.records)  # no message text in logs
        assert effect_statuses(components) == ["pending"] and follow_ups(components) == []
    # The broker is back (the right URL): a worker's periodic run drains what is waiting in SQL.
    with worker(components, broker, tmp_path / "worker.log"):
        arrived = wait_until(lambda: bool(follow_ups(components)))
        assert arrived, (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
    assert follow_ups(components) == [components.catalog.text(NOTICE_KEY, "en")]
    assert effect_statuses(components) == ["done"]


def test_embedded_default_performs_effects_in_process_without_a_broker(
    wired: Callable[..., Components]
) -> None:
    components = wired(None)
    with TestClient(create_app(components.config, components=components)) as client:
        response = client.post("/api/v1/messages", json={"bot": "library", "sender": "task-engine-sender-03",
                                                         "text": "remind me", "lang": "en", "id": "embedded-01"})
        assert response.status_code == 200
        assert wait_until(lambda: bool(follow_ups(components)), 10)
    assert follow_ups(components) == [components.catalog.text(NOTICE_KEY, "en")]
    assert effect_statuses(components) == ["done"]


def test_notify_refuses_an_unknown_catalog_key(wired: Callable[..., Components]) -> None:
    components = wired(None)
    request = EffectRequest(kind="notify", params={"key": "no.such.key"}, idempotency_key="1:0", bot="library",
                            channel="web", sender="s", language="vi", secrets={},
                            text=lambda key, **params: components.catalog.text(key, "vi", **params))
    with pytest.raises(Exception) as refused:
        NotifyEffect().perform(request)
    assert getattr(refused.value, "key", None) == "error.apology"
    ok = EffectRequest(**{**request.__dict__, "params": {"key": NOTICE_KEY}})
    assert [reply.text for reply in NotifyEffect().perform(ok)] == [components.catalog.text(NOTICE_KEY, "vi")]


def test_the_worker_command_needs_a_broker_url() -> None:
    env = {key: value for key, value in os.environ.items() if key != BROKER_URL_ENV}
    result = subprocess.run([sys.executable, "-m", "bot.cli", "worker"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert BROKER_URL_ENV in result.stderr and NO_BROKER.splitlines()[0] in result.stderr


def test_an_unreachable_broker_never_blocks_the_commit(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.tasks")
    notifier = TaskNotifier(f"redis://127.0.0.1:{free_port()}/0", f"yorisoi_test_{uuid.uuid4().hex[:8]}")
    started = time.monotonic()
    for _ in range(100):
        notifier.wake()
    assert time.monotonic() - started < 0.5
    assert wait_until(lambda: any("could not enqueue" in r.getMessage() for r in caplog.records), 10)
    time.sleep(0.2)
    assert sum("could not enqueue" in r.getMessage() for r in caplog.records) == 1  # once per failing streak
    with pytest.raises(ValueError):
        create_broker("http://127.0.0.1:1/")


# --- notifications: delivered at once, by the server's loop or a worker ---------------------------------------


def notice_texts(components: Components) -> list[str]:
    with components.store.sessions() as session:
        return list(session.scalars(select(models.Message.text).where(
            models.Message.out_of_turn.is_(True), models.Message.role == "system").order_by(models.Message.id)))


def queue_notice(components: Components) -> None:
    components.engine.handle(message())  # a web follower of the library bot
    components.notifications.send(NotificationKind.NOTICE, Audience("library"),
                                  NotificationContent.curated({"en": "The library closes early today."}), "tester")


def test_a_queued_notification_is_delivered_by_the_worker_at_once(
    wired: Callable[..., Components], broker: Broker, tmp_path: Path
) -> None:
    components = wired(broker.url, broker.queue)
    with worker(components, broker, tmp_path / "worker.log"):
        queue_notice(components)
        arrived = wait_until(lambda: "The library closes early today." in notice_texts(components))
        assert arrived, (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
        time.sleep(0.5)  # the scheduler's periodic round changes nothing
    assert notice_texts(components).count("The library closes early today.") == 1


def test_embedded_default_delivers_a_notification_without_waiting_for_housekeeping(
    wired: Callable[..., Components]
) -> None:
    components = wired(None)
    with TestClient(create_app(components.config, components=components)):
        queue_notice(components)
        # Housekeeping runs every sweep_after_seconds / 2; the delivery loop was woken instead.
        assert wait_until(lambda: bool(notice_texts(components)), 3)
    assert notice_texts(components) == ["The library closes early today."]
