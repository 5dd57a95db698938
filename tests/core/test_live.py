"""Live wake-ups (``bot.live``): a commit wakes the connections watching what it changed, never before it
commits, in this process (``LocalLive``) and in every process sharing Redis (``RedisLive``), also after
Redis restarts."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Collection, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.enums import Direction, HandoffKind, HandoffReason, HandoffStatus, MessageStatus, Role
from bot.fakes import RecordingLive
from bot.live import (
    DEFAULT_POLL_SECONDS,
    DEFAULT_SWEEP_SECONDS,
    DESK_TOPIC,
    POLLING_ONLY_SECONDS,
    LocalLive,
    live_updates,
    mark,
    publish_after_commit,
    resident_topic,
)
from bot.live_redis import RedisLive
from bot.storage import models
from bot.storage.database import create_database_engine, session_factory, upgrade_database
from bot.storage.live_feed import SqlChangeFeed
from bot.storage.messages import MessageLog, OutOfTurnMessage
from bot.types import Reply

REDIS_URL = os.environ.get("YORISOI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
#: Long enough that a wait which returns True was woken, short enough that a failing test ends.
WAKE_SECONDS = 10.0
T = TypeVar("T")


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(scenario())


# --- in one process -------------------------------------------------------------------------------------------


def test_a_publish_from_another_thread_wakes_only_the_watchers_of_its_topic() -> None:
    live = LocalLive(poll_seconds=3600)

    async def scenario() -> tuple[bool, bool, bool]:
        with live.resident("residents", "web", "sender-a") as mine, live.resident("residents", "web", "b") as other, \
                live.desk() as desk:
            threading.Thread(target=live.publish, args=({resident_topic("residents", "web", "sender-a")},)).start()
            woken = await mine.wait(WAKE_SECONDS)
            return woken, await other.wait(0.2), await desk.wait(0.2)

    assert run(scenario) == (True, False, False)
    assert live.watching() == 0  # every watch ended with its connection


def test_a_publish_while_the_connection_reads_sql_is_kept_for_its_next_wait() -> None:
    live = LocalLive(poll_seconds=3600)

    async def scenario() -> tuple[bool, bool]:
        with live.desk() as watch:
            live.publish({DESK_TOPIC})  # arrives before the connection waits (it was busy reading SQL)
            live.publish({DESK_TOPIC})
            first = await watch.wait(WAKE_SECONDS)
            return first, await watch.wait(0.2)  # two publishes meanwhile: one more look is enough

    assert run(scenario) == (True, False)


def test_without_wakeups_connections_only_poll() -> None:
    live = LocalLive(poll_seconds=0.05, wakeups=False)

    async def scenario() -> bool:
        with live.desk() as watch:
            live.publish({DESK_TOPIC})
            return await watch.wait()  # the safety poll's timeout, not a wake-up

    assert run(scenario) is False


# --- after commit ---------------------------------------------------------------------------------------------


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    database = create_database_engine(f"sqlite:///{tmp_path / 'live.db'}")
    upgrade_database(database)
    factory = session_factory(database)
    with factory.begin() as session:
        session.add(models.Conversation(id="c1", bot="residents", channel="web", sender="resident-1"))
    yield factory
    database.dispose()


class SeeingLive(RecordingLive):
    """Records, at each publish, the out-of-turn texts another connection can read at that moment."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__()
        self.sessions = sessions
        self.visible: list[list[str]] = []

    def publish(self, topics: Collection[str]) -> None:
        with self.sessions() as session:
            self.visible.append(list(session.scalars(select(models.Message.text)
                                                     .where(models.Message.out_of_turn.is_(True)))))
        super().publish(topics)


def test_a_message_for_the_resident_is_published_after_its_commit_and_a_rollback_publishes_nothing(
    sessions: sessionmaker[Session]
) -> None:
    live = SeeingLive(sessions)
    publish_after_commit(sessions, live)
    log = MessageLog(sessions)
    with pytest.raises(RuntimeError), sessions.begin() as session:
        log.add_out_of_turn(OutOfTurnMessage("c1", Role.STAFF, Reply(text="lost"), "en"), session=session)
        raise RuntimeError("the caller fails after the write")
    assert live.published == []
    with sessions.begin() as session:
        log.add_out_of_turn(OutOfTurnMessage("c1", Role.STAFF, Reply(text="first"), "en"), session=session)
        with session.begin_nested():  # a savepoint released inside: still nothing until the real commit
            mark(session, DESK_TOPIC)
        assert live.published == []
        log.add_out_of_turn(OutOfTurnMessage("c1", Role.SYSTEM, Reply(text="second"), "en"), session=session)
    log.add_out_of_turn(OutOfTurnMessage("c1", Role.STAFF, Reply(text="third"), "en"))  # its own transaction
    resident = resident_topic("residents", "web", "resident-1")
    assert live.published == [*sorted([DESK_TOPIC, resident]), resident]  # one publish per commit
    assert live.visible == [["first", "second"], ["first", "second", "third"]]  # woken readers find them


def test_status_changes_wake_nobody(sessions: sessionmaker[Session]) -> None:
    live = RecordingLive()
    log = MessageLog(sessions)
    message_id = log.add_out_of_turn(OutOfTurnMessage("c1", Role.STAFF, Reply(text="hi"), "en"))
    publish_after_commit(sessions, live)
    assert log.set_status(message_id, MessageStatus.SENT)  # the widget fetched it: no wake-up loop
    assert live.published == []


# --- configuration --------------------------------------------------------------------------------------------


def test_the_environment_chooses_the_wakeups() -> None:
    embedded = live_updates({})
    assert type(embedded) is LocalLive and embedded.wakeups
    assert (embedded.poll_seconds, embedded.sweep_seconds) == (DEFAULT_POLL_SECONDS, DEFAULT_SWEEP_SECONDS)
    rabbit = live_updates({"YORISOI_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/"})
    assert type(rabbit) is LocalLive  # workers' writes are found by each server's sweep
    shared = live_updates({"YORISOI_BROKER_URL": "redis://127.0.0.1:6379/3", "YORISOI_TASK_QUEUE": "city"})
    assert isinstance(shared, RedisLive) and shared.channel == "city:live"
    both = live_updates({"YORISOI_BROKER_URL": "amqp://127.0.0.1/", "YORISOI_REDIS_URL": "redis://127.0.0.1/1",
                         "YORISOI_LIVE_POLL_SECONDS": "45", "YORISOI_LIVE_SWEEP_SECONDS": "0.5"})
    assert isinstance(both, RedisLive) and both.channel == "yorisoi:live"
    assert (both.poll_seconds, both.sweep_seconds) == (45, 0.5)
    before = live_updates({"YORISOI_LIVE_WAKEUPS": "off", "YORISOI_REDIS_URL": "redis://127.0.0.1/1"})
    assert type(before) is LocalLive and not before.wakeups and before.poll_seconds == POLLING_ONLY_SECONDS
    for wrong in ({"YORISOI_LIVE_POLL_SECONDS": "soon"}, {"YORISOI_LIVE_SWEEP_SECONDS": "0"}):
        with pytest.raises(ValueError, match="YORISOI_LIVE_"):
            live_updates(wrong)
    for made in (shared, both):
        made.close()


# --- the per-process look at SQL: writes that woke nobody -------------------------------------------------------


def another_process(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions on the same database that publish nothing (a process without Redis, a command-line tool)."""
    return session_factory(sessions.kw["bind"])


def test_the_sweep_finds_what_another_process_wrote_without_waking_anyone(sessions: sessionmaker[Session]) -> None:
    live = LocalLive(poll_seconds=3600, sweep_seconds=0.1)
    live.follow(SqlChangeFeed(sessions))
    elsewhere = another_process(sessions)
    with elsewhere.begin() as session:
        session.add(models.Conversation(id="c2", bot="residents", channel="web", sender="resident-2"))

    async def scenario() -> tuple[bool, bool, bool, bool]:
        with live.resident("residents", "web", "resident-1") as resident, \
                live.resident("residents", "web", "resident-2") as bystander, live.desk() as desk:
            await asyncio.sleep(0.3)  # the sweep's first look notes where SQL stands
            MessageLog(elsewhere).add_out_of_turn(OutOfTurnMessage("c1", Role.STAFF, Reply(text="hi"), "en"))
            woken = await resident.wait(WAKE_SECONDS)
            return woken, await bystander.wait(0.5), await desk.wait(0.5), await resident.wait(0.5)

    try:
        assert run(scenario) == (True, False, False, False)  # once, and only the resident written to
    finally:
        live.close()


def test_the_sweep_wakes_the_desk_for_handoffs_and_their_rooms_not_for_other_conversations(
    sessions: sessionmaker[Session]
) -> None:
    feed = SqlChangeFeed(sessions)
    log = MessageLog(sessions)
    assert feed() == set()  # the first look only notes where SQL stands
    log.add_out_of_turn(OutOfTurnMessage("c1", Role.BOT, Reply(text="your book is renewed"), "en"))
    assert DESK_TOPIC not in feed()
    with sessions.begin() as session:
        session.add(models.HandoffRequest(conversation_id="c1", kind=HandoffKind.STAFF, reason=HandoffReason.ASKED,
                                          language="en", status=HandoffStatus.QUEUED, labels=[]))
    assert feed() == {DESK_TOPIC}
    log.add_out_of_turn(OutOfTurnMessage("c1", Role.STAFF, Reply(text="hello"), "en"))
    assert feed() == {DESK_TOPIC, resident_topic("residents", "web", "resident-1")}  # a message in the room
    assert feed() == set()


def test_a_commit_that_arrives_after_a_higher_id_was_seen_is_still_reported_once(
    sessions: sessionmaker[Session]
) -> None:
    feed = SqlChangeFeed(sessions)
    with sessions.begin() as session:
        session.add(models.Message(id=10, conversation_id="c1", direction=Direction.OUT, role=Role.STAFF,
                                   text="ten", payload={}, status=MessageStatus.PENDING, out_of_turn=True))
    feed()
    with sessions.begin() as session:  # id 7 was handed out earlier, its transaction commits only now
        session.add(models.Message(id=7, conversation_id="c1", direction=Direction.OUT, role=Role.STAFF,
                                   text="seven", payload={}, status=MessageStatus.PENDING, out_of_turn=True))
    assert feed() == {resident_topic("residents", "web", "resident-1")}
    assert feed() == set()


# --- across processes through Redis ---------------------------------------------------------------------------


def redis_reachable(url: str) -> bool:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return True
    except redis.RedisError:
        return False


@pytest.fixture
def redis_url() -> str:
    if not redis_reachable(REDIS_URL):
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI but {REDIS_URL} is not reachable")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return REDIS_URL


@contextmanager
def pair(url: str) -> Iterator[tuple[RedisLive, RedisLive]]:
    """Two "processes" on one pub/sub channel of their own."""
    channel = f"yorisoi_test_{uuid.uuid4().hex[:10]}:live"
    first, second = (RedisLive(url, channel=channel, poll_seconds=3600, timeout_seconds=1) for _ in range(2))
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_a_publish_in_one_process_wakes_the_watchers_of_another(redis_url: str) -> None:
    topic = resident_topic("residents", "web", "resident-1")
    with pair(redis_url) as (server_a, server_b):

        async def scenario() -> tuple[bool, bool, bool]:
            with server_b.resident("residents", "web", "resident-1") as remote, \
                    server_a.resident("residents", "web", "resident-1") as local, server_b.desk() as desk:
                for server in (server_a, server_b):
                    assert await asyncio.to_thread(server.listening.wait, WAKE_SECONDS)
                for watch in (remote, local, desk):
                    await watch.wait(0.5)  # the "look again" every new subscription starts with
                server_a.publish({topic})
                return await remote.wait(WAKE_SECONDS), await local.wait(WAKE_SECONDS), await desk.wait(0.5)

        assert run(scenario) == (True, True, False)


def test_an_unreachable_redis_still_wakes_this_process_and_never_raises() -> None:
    dead = RedisLive(f"redis://127.0.0.1:{free_port()}/0", channel="nobody:live", poll_seconds=3600,
                     timeout_seconds=0.5)

    async def scenario() -> bool:
        with dead.desk() as watch:
            dead.publish({DESK_TOPIC})
            return await watch.wait(WAKE_SECONDS)

    try:
        assert run(scenario) is True
    finally:
        dead.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """A redis-server of the test's own on a free port, to stop and start again (the shared one must stay up)."""

    def __init__(self, folder: Path) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.skip("redis-server is not installed")
        self.command = [server, "--port", str(free_port()), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                        "--dir", str(folder)]
        self.url = f"redis://127.0.0.1:{self.command[2]}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not redis_reachable(self.url):
            assert time.monotonic() < deadline, "the private redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def wait_for(condition: Callable[[], bool], seconds: float = WAKE_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_after_redis_restarts_watchers_look_again_and_wake_ups_flow_again(tmp_path: Path) -> None:
    private = PrivateRedis(tmp_path)
    private.start()
    try:
        with pair(private.url) as (server_a, server_b):

            async def scenario() -> tuple[bool, bool, bool, bool]:
                with server_b.desk() as watch:
                    assert await asyncio.to_thread(server_b.listening.wait, WAKE_SECONDS)
                    await watch.wait(0.5)
                    server_a.publish({DESK_TOPIC})
                    before = await watch.wait(WAKE_SECONDS)
                    await asyncio.to_thread(private.stop)
                    assert await asyncio.to_thread(wait_for, lambda: not server_b.listening.is_set())
                    server_a.publish({DESK_TOPIC})  # lost to pub/sub: nobody listens while Redis is down
                    while_down = await watch.wait(1.0)
                    await asyncio.to_thread(private.start)
                    # Subscribed again: the watcher looks at SQL again, where the lost change is.
                    after_restart = await watch.wait(WAKE_SECONDS + 5)
                    server_a.publish({DESK_TOPIC})
                    return before, while_down, after_restart, await watch.wait(WAKE_SECONDS)

            assert run(scenario) == (True, False, True, True)
    finally:
        private.stop()
