"""Live connections are woken, not polled: what staff write reaches the widget's WebSocket and the kiosk's long
poll, and desk changes reach the console's WebSocket, although their own polls (and the process's look at
SQL) are an hour away.

Embedded (one process, ``LocalLive``), across two servers sharing a database and Redis (``RedisLive``), from a
``yorisoi worker`` process performing an effect, and — the fallback — two servers without Redis, whose
per-process look at SQL finds what the other wrote.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from websockets.sync.client import ClientConnection, connect

from bot.app import Components, build_components, create_app
from bot.config import AppConfig
from bot.desk.views import StaffUser
from bot.effects import Effect
from bot.live import LocalLive
from bot.live_redis import RedisLive
from bot.protocols import LiveUpdates
from bot.skill_registry import topic_skill
from bot.testing import standard_nlu
from bot.turn import Turn
from tests.deploy.cluster import running_worker

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("YORISOI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
#: The connections' own poll and the processes' look at SQL in these tests: whatever arrives sooner was woken.
NEVER = 3600.0
#: How long a test waits for a frame (far below NEVER).
WAKE_SECONDS = 20.0


# --- servers --------------------------------------------------------------------------------------------------


@dataclass
class Server:
    """One API process of the test: its address, its parts and a member of staff acting on it."""

    url: str
    components: Components

    @property
    def ws(self) -> str:
        return self.url.replace("http", "ws", 1)

    def staff(self) -> StaffUser:
        return self.components.accounts.create_user(f"staff-{uuid.uuid4().hex[:8]}", "password-1", "staff",
                                                    display_name="佐藤", language="ja")

    def handoff_of(self, staff: StaffUser, sender: str) -> int:
        [handoff] = [h for h in self.components.desk.queue(staff) if h["sender"] == sender]
        return int(handoff["id"])


def configured(make_config: Callable[..., AppConfig], database_url: str) -> AppConfig:
    config = make_config(database_url)
    return config.model_copy(update={"handoff": config.handoff.model_copy(update={"always_open": True})})


@contextmanager
def serve(config: AppConfig, live: LiveUpdates, **extra: Any) -> Iterator[Server]:
    """The whole app on uvicorn in a thread (a free port), on ``config``'s database, woken by ``live``."""
    extra.setdefault("nlu", standard_nlu())
    components = build_components(config, live=live, **extra)
    server = uvicorn.Server(uvicorn.Config(create_app(config, components=components), host="127.0.0.1", port=0,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, name="live-sockets-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Server(f"http://127.0.0.1:{port}", components)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        live.close()
        components.database.dispose()


def ask_for_staff(server: Server, sender: str, *, channel: str = "web") -> None:
    if channel == "kiosk":
        answered = httpx.post(f"{server.url}/kiosk/api/helper", timeout=30,
                              json={"bot": "city_hall", "sender": sender, "lang": "ja", "id": uuid.uuid4().hex[:12]})
    else:
        answered = httpx.post(f"{server.url}/api/v1/messages", timeout=30,
                              json={"bot": "city_hall", "sender": sender, "text": "staff please", "lang": "en"})
    assert answered.status_code == 200, answered.text


@contextmanager
def hello(server: Server, sender: str, bot: str = "city_hall") -> Iterator[ClientConnection]:
    """The widget's WebSocket after its hello was answered (pushes from now on)."""
    with connect(f"{server.ws}/ws/chat") as ws:
        ws.send(json.dumps({"type": "hello", "bot": bot, "sender": sender}))
        assert json.loads(ws.recv(timeout=WAKE_SECONDS)) == {"type": "ready"}
        yield ws


def next_push(ws: ClientConnection) -> list[dict[str, Any]]:
    while True:
        frame = json.loads(ws.recv(timeout=WAKE_SECONDS))
        if frame["type"] == "push":
            return list(frame["messages"])


@contextmanager
def console(server: Server) -> Iterator[ClientConnection]:
    """The console's WebSocket, after its first "changed" (the state when it connected)."""
    user = server.staff()
    login = server.components.accounts.login(user.username, "password-1")
    assert login is not None
    with connect(f"{server.ws}/ws/staff?token={login.token}") as ws:
        assert json.loads(ws.recv(timeout=WAKE_SECONDS))["type"] == "changed"
        yield ws


def long_poll(server: Server, sender: str, after: int, wait: int = 30) -> dict[str, Any]:
    answered = httpx.get(f"{server.url}/kiosk/api/updates", timeout=wait + 10,
                         params={"bot": "city_hall", "sender": sender, "after": after, "wait": wait})
    assert answered.status_code == 200, answered.text
    return dict(answered.json())


def watching(live: LocalLive, count: int) -> None:
    """Wait until the server watches ``count`` topics (the connection is waiting, not reading SQL)."""
    deadline = time.monotonic() + WAKE_SECONDS
    while live.watching() < count:
        assert time.monotonic() < deadline, "the connection never started watching"
        time.sleep(0.02)


# --- embedded: one process ------------------------------------------------------------------------------------


@pytest.fixture
def embedded(make_config: Callable[..., AppConfig], tmp_path: Path) -> Iterator[tuple[Server, LocalLive]]:
    live = LocalLive(poll_seconds=NEVER, sweep_seconds=NEVER)
    with serve(configured(make_config, f"sqlite:///{tmp_path / 'live.db'}"), live) as server:
        yield server, live


def test_what_staff_write_reaches_the_widget_at_once(embedded: tuple[Server, LocalLive]) -> None:
    server, _live = embedded
    sender = secrets.token_hex(16)
    ask_for_staff(server, sender)
    staff = server.staff()
    handoff = server.handoff_of(staff, sender)
    with hello(server, sender) as ws:
        server.components.desk.claim(staff, handoff)
        [joined] = next_push(ws)
        server.components.desk.post(staff, handoff, "Hello, I am here to help.", language="en")
        [written] = next_push(ws)
    assert joined["role"] == "system" and "佐藤" in joined["text"]
    assert written["role"] == "staff" and written["text"] == "Hello, I am here to help."


def test_the_kiosks_long_poll_answers_when_staff_write_and_empty_when_nobody_does(
    embedded: tuple[Server, LocalLive]
) -> None:
    server, live = embedded
    sender = secrets.token_hex(16)
    ask_for_staff(server, sender, channel="kiosk")
    staff = server.staff()
    handoff = server.handoff_of(staff, sender)
    server.components.desk.claim(staff, handoff)
    [joined] = long_poll(server, sender, after=0)["messages"]  # already there: answered at once
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(long_poll, server, sender, joined["id"])
        watching(live, 1)
        server.components.desk.post(staff, handoff, "すぐ行きます")
        [written] = waiting.result(timeout=WAKE_SECONDS)["messages"]
    assert written["text"] == "すぐ行きます" and "<ruby>" in written["rendered"]["html"]
    assert long_poll(server, sender, after=written["id"], wait=1) == {"messages": []}
    too_long = httpx.get(f"{server.url}/kiosk/api/updates", params={"bot": "city_hall", "sender": sender, "wait": 31})
    assert too_long.status_code == 422


def test_the_console_hears_of_a_new_request_for_staff_at_once(embedded: tuple[Server, LocalLive]) -> None:
    server, live = embedded
    with console(server) as ws:
        watching(live, 1)
        ask_for_staff(server, secrets.token_hex(16))
        assert json.loads(ws.recv(timeout=WAKE_SECONDS))["type"] == "changed"


# --- two servers sharing a database and Redis -----------------------------------------------------------------


def redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI but {REDIS_URL} is not reachable")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")


@pytest.fixture
def cluster(make_config: Callable[..., AppConfig], database_url: str) -> Iterator[tuple[Server, Server]]:
    """Servers A and B on one database and one Redis channel of their own (as two processes would be)."""
    redis_or_skip()
    channel = f"yorisoi_test_{uuid.uuid4().hex[:10]}:live"
    config = configured(make_config, database_url)
    with serve(config, RedisLive(REDIS_URL, channel=channel, poll_seconds=NEVER, sweep_seconds=NEVER)) as first, \
            serve(config, RedisLive(REDIS_URL, channel=channel, poll_seconds=NEVER, sweep_seconds=NEVER)) as second:
        yield first, second


def subscribed(server: Server) -> None:
    live = server.components.live
    assert isinstance(live, RedisLive) and live.listening.wait(WAKE_SECONDS)


def test_staff_writing_on_one_server_reach_a_widget_on_the_other(cluster: tuple[Server, Server]) -> None:
    server_a, server_b = cluster
    sender = secrets.token_hex(16)
    ask_for_staff(server_a, sender)
    staff = server_a.staff()
    handoff = server_a.handoff_of(staff, sender)
    with hello(server_b, sender) as ws:
        subscribed(server_b)
        server_a.components.desk.claim(staff, handoff)
        [joined] = next_push(ws)
        server_a.components.desk.post(staff, handoff, "Hello from the other server.", language="en")
        [written] = next_push(ws)
    assert joined["role"] == "system" and written["text"] == "Hello from the other server."


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_console_and_the_kiosk_on_one_server_hear_what_happens_on_the_other(
    cluster: tuple[Server, Server]
) -> None:
    server_a, server_b = cluster
    sender = secrets.token_hex(16)
    with console(server_b) as ws:
        subscribed(server_b)
        ask_for_staff(server_a, sender, channel="kiosk")  # the kiosk's helper button, answered by server A
        assert json.loads(ws.recv(timeout=WAKE_SECONDS))["type"] == "changed"
    staff = server_a.staff()
    handoff = server_a.handoff_of(staff, sender)
    server_a.components.desk.claim(staff, handoff)
    [joined] = long_poll(server_b, sender, after=0)["messages"]
    live_b = server_b.components.live
    assert isinstance(live_b, RedisLive)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(long_poll, server_b, sender, joined["id"])
        watching(live_b, 1)
        server_a.components.desk.post(staff, handoff, "いま行きます")
        [written] = waiting.result(timeout=WAKE_SECONDS)["messages"]
    assert written["text"] == "いま行きます"


# --- without Redis: each server's look at SQL -----------------------------------------------------------------


def test_without_redis_a_widget_on_one_server_gets_what_staff_write_on_the_other_from_its_look_at_sql(
    make_config: Callable[..., AppConfig], tmp_path: Path
) -> None:
    config = configured(make_config, f"sqlite:///{tmp_path / 'shared.db'}")
    sender = secrets.token_hex(16)
    with serve(config, LocalLive(poll_seconds=NEVER, sweep_seconds=0.5)) as server_a, \
            serve(config, LocalLive(poll_seconds=NEVER, sweep_seconds=0.5)) as server_b:
        ask_for_staff(server_a, sender)
        staff = server_a.staff()
        handoff = server_a.handoff_of(staff, sender)
        with hello(server_b, sender) as ws, console(server_b) as desk:
            server_a.components.desk.claim(staff, handoff)
            [joined] = next_push(ws)
            assert json.loads(desk.recv(timeout=WAKE_SECONDS))["type"] == "changed"
    assert joined["role"] == "system" and "佐藤" in joined["text"]


# --- a task worker's effect result ----------------------------------------------------------------------------


def remind(turn: Turn) -> None:
    turn.effects.append(Effect("notify", {"key": "thanks.reply"}))
    turn.say("form.cancelled")


@contextmanager
def worker(config: AppConfig, queue: str, log_file: Path) -> Iterator[None]:
    """``yorisoi worker`` on Redis and ``config``'s database (stopped with TERM, then KILL)."""
    env = {**os.environ, "YORISOI_BROKER_URL": REDIS_URL, "YORISOI_TASK_QUEUE": queue,
           "YORISOI_DATABASE_URL": config.resolved_database_url, "YORISOI_DATA_DIR": str(config.data_path),
           "PYTHONPATH": str(ROOT)}
    with running_worker(env, log_file):
        yield


def test_an_effect_result_written_by_a_worker_process_wakes_the_widget(
    make_config: Callable[..., AppConfig], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_or_skip()
    queue = f"yorisoi_test_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("YORISOI_BROKER_URL", REDIS_URL)  # the server enqueues effects for the worker
    monkeypatch.setenv("YORISOI_TASK_QUEUE", queue)
    config = configured(make_config, f"sqlite:///{tmp_path / 'worker.db'}")
    # The worker's comes from the environment: the same channel.
    live = RedisLive(REDIS_URL, channel=f"{queue}:live", poll_seconds=NEVER, sweep_seconds=NEVER)
    sender = secrets.token_hex(16)
    try:
        with serve(config, live, skills=[topic_skill("renew_loan", remind)],
                   nlu=standard_nlu([("renew", "renew_loan")])) as server, \
                worker(config, queue, tmp_path / "worker.log"), hello(server, sender, "library") as ws:
            subscribed(server)
            ws.send(json.dumps({"type": "message", "id": "remind-0001", "bot": "library", "sender": sender,
                                "text": "renew my book", "lang": "en"}))
            try:
                [notice] = next_push(ws)
            except TimeoutError:
                pytest.fail((tmp_path / "worker.log").read_text(errors="replace")[-3000:])
            assert notice["text"] == server.components.catalog.text("thanks.reply", "en")
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{queue}:*"))
        if keys:
            client.delete(*keys)
        client.close()
