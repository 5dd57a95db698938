"""The outbox retries what a channel could not push now, gives up on refusals, and pushes each message once.

On SQLite and PostgreSQL (``database_url``): a recording channel stands in for LINE; two engines on the
same database stand in for two servers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from fastapi import APIRouter
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import Address, ChannelKind, TryLater
from bot.desk.outbox import Outbox, OutboxSettings
from bot.enums import MessageStatus, Role
from bot.storage import models
from bot.storage.database import create_database_engine, session_factory, upgrade_database
from bot.storage.messages import MessageLog, OutOfTurnMessage
from bot.types import Reply
from tests.shared_fixtures import Clock

BOT = "city_hall"
SENDER = "U-outbox-resident-0001"


@dataclass
class RecordingChannel:
    """A pushing channel: raises ``TryLater`` for the first ``transient`` sends, refuses when ``refuse``."""

    name: ClassVar[str] = "pushy"
    kind: ClassVar[ChannelKind] = ChannelKind.PLATFORM

    transient: int = 0
    retry_after: float | None = None
    refuse: bool = False
    crash: int = 0
    #: Every send's address key, in order (failed ones too).
    keys: list[str] = field(default_factory=list)
    #: Keys of the sends that succeeded.
    delivered: list[str] = field(default_factory=list)

    @classmethod
    def from_config(cls, section: Any, context: Any) -> RecordingChannel:
        return cls()

    def router(self) -> APIRouter:
        return APIRouter()

    async def send(self, address: Address, reply: Reply, language: str) -> bool:
        self.keys.append(address.key)
        await asyncio.sleep(0.001)  # let a racing outbox run in between
        if self.crash > 0:
            self.crash -= 1
            raise RuntimeError("a bug")
        if self.transient > 0:
            self.transient -= 1
            raise TryLater("platform 503", self.retry_after)
        if self.refuse:
            return False
        self.delivered.append(address.key)
        return True


@dataclass
class Active:
    """An audience in which only ``followers`` still follow."""

    followers: set[str]

    def is_active(self, bot: str, channel: str, sender: str) -> bool:
        return sender in self.followers


@pytest.fixture
def database(database_url: str) -> Iterator[Engine]:
    """A migrated database."""
    engine = create_database_engine(database_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(database: Engine) -> sessionmaker[Session]:
    return session_factory(database)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))


def conversation(sessions: sessionmaker[Session], sender: str = SENDER) -> str:
    """A conversation of the recording channel."""
    with sessions.begin() as session:
        row = models.Conversation(id=uuid.uuid4().hex, bot=BOT, channel=RecordingChannel.name, sender=sender)
        session.add(row)
    return row.id


def staff_message(sessions: sessionmaker[Session], conversation_id: str, text: str = "少々お待ちください") -> int:
    """A staff message waiting to be pushed."""
    return MessageLog(sessions).add_out_of_turn(OutOfTurnMessage(conversation_id, Role.STAFF, Reply(text=text), "ja"))


def row(sessions: sessionmaker[Session], message_id: int) -> models.Message:
    with sessions() as session:
        found = session.get(models.Message, message_id)
        assert found is not None
        return found


def make_outbox(sessions: sessionmaker[Session], channel: RecordingChannel, clock: Callable[[], datetime],
                **settings: Any) -> Outbox:
    return Outbox(sessions, [channel], settings=OutboxSettings(**settings), now=clock)


def later(clock: Clock, seconds: float) -> None:
    clock.moment += timedelta(seconds=seconds)


def test_a_push_the_platform_cannot_take_now_is_retried_with_backoff_and_sent_once(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    message_id = staff_message(sessions, conversation(sessions))
    channel = RecordingChannel(transient=3)
    outbox = make_outbox(sessions, channel, clock)
    for attempt in (1, 2, 3):
        assert asyncio.run(outbox.run_once()) == 0
        failed = row(sessions, message_id)
        assert (failed.status, failed.attempts, failed.error) == (MessageStatus.PENDING, attempt, "platform 503")
        assert asyncio.run(outbox.run_once()) == 0  # not due yet: backing off
        assert len(channel.keys) == attempt
        later(clock, 2 ** attempt)  # the backoff after attempt n is 2**n s
    assert asyncio.run(outbox.run_once()) == 1
    assert channel.keys == [str(message_id)] * 4  # the same key every time
    assert channel.delivered == [str(message_id)]
    sent = row(sessions, message_id)
    assert (sent.status, sent.attempts, sent.retry_at) == (MessageStatus.SENT, 4, None)
    later(clock, 3600)
    assert asyncio.run(outbox.run_once()) == 0 and channel.delivered == [str(message_id)]


def test_the_backoff_is_capped_and_a_retry_after_is_honoured(sessions: sessionmaker[Session], clock: Clock) -> None:
    first = staff_message(sessions, conversation(sessions))
    capped = make_outbox(sessions, RecordingChannel(transient=10), clock, max_backoff_seconds=3.0)
    for attempt, delay in ((1, 2.0), (2, 3.0), (3, 3.0)):  # 2, 4 → 3, 8 → 3
        asyncio.run(capped.run_once())
        waiting = row(sessions, first)
        assert (waiting.attempts, waiting.status) == (attempt, MessageStatus.PENDING)
        assert abs(_aware(waiting.retry_at) - (clock.moment + timedelta(seconds=delay))) < timedelta(seconds=1)
        later(clock, delay)

    second = staff_message(sessions, conversation(sessions, "U-outbox-resident-0002"))
    told = make_outbox(sessions, RecordingChannel(transient=2, retry_after=42.0), clock)
    asyncio.run(told.run_once())
    assert abs(_aware(row(sessions, second).retry_at) - (clock.moment + timedelta(seconds=42))) < timedelta(seconds=1)


def test_a_conversations_messages_leave_in_order_while_others_go_on(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    conversation_id = conversation(sessions)
    first, second = staff_message(sessions, conversation_id, "一"), staff_message(sessions, conversation_id, "二")
    elsewhere = staff_message(sessions, conversation(sessions, "U-outbox-resident-0002"))
    channel = RecordingChannel(transient=1)
    outbox = make_outbox(sessions, channel, clock)
    assert asyncio.run(outbox.run_once()) == 1  # the first waits: the second waits behind it; the other goes
    assert channel.delivered == [str(elsewhere)]
    assert row(sessions, second).status == MessageStatus.PENDING and row(sessions, second).attempts == 0
    assert asyncio.run(outbox.run_once()) == 0  # still backing off
    later(clock, 2)
    assert asyncio.run(outbox.run_once()) == 2
    assert channel.delivered == [str(elsewhere), str(first), str(second)]


def test_a_refused_push_fails_at_once_with_the_reason_and_is_not_retried(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    message_id = staff_message(sessions, conversation(sessions))
    channel = RecordingChannel(refuse=True)
    outbox = make_outbox(sessions, channel, clock)
    assert asyncio.run(outbox.run_once()) == 0
    failed = row(sessions, message_id)
    assert (failed.status, failed.error, failed.attempts) == (MessageStatus.FAILED, "refused by pushy", 1)
    later(clock, 3600)
    asyncio.run(outbox.run_once())
    assert channel.keys == [str(message_id)]
    [dead] = outbox.failed_pushes()
    assert (dead.message_id, dead.bot, dead.channel, dead.role, dead.error) == (
        message_id, BOT, "pushy", Role.STAFF, "refused by pushy")


def test_after_max_attempts_the_push_is_a_dead_letter_an_admin_can_see_and_requeue(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    message_id = staff_message(sessions, conversation(sessions))
    channel = RecordingChannel(transient=3, crash=1)
    outbox = make_outbox(sessions, channel, clock, max_attempts=3)
    for _ in range(4):
        asyncio.run(outbox.run_once())
        later(clock, 3600)
    dead = row(sessions, message_id)
    assert (dead.status, dead.attempts, dead.error) == (MessageStatus.FAILED, 3, "platform 503")
    assert len(channel.keys) == 3  # a crash, two TryLater: then given up
    assert [push.message_id for push in outbox.failed_pushes()] == [message_id]
    assert outbox.failed_pushes(channel="line") == []

    channel.transient = 0  # the platform is back
    assert outbox.requeue(message_id) is True
    assert outbox.requeue(message_id) is False  # pending now, not failed
    assert asyncio.run(outbox.run_once()) == 1
    assert channel.delivered == [str(message_id)]
    assert (row(sessions, message_id).status, row(sessions, message_id).attempts) == (MessageStatus.SENT, 1)
    assert outbox.failed_pushes() == []


def test_nothing_is_pushed_to_a_resident_who_left(sessions: sessionmaker[Session], clock: Clock) -> None:
    message_id = staff_message(sessions, conversation(sessions))
    channel = RecordingChannel()
    outbox = Outbox(sessions, [channel], Active(set()), now=clock)
    asyncio.run(outbox.run_once())
    assert channel.keys == []
    assert (row(sessions, message_id).status, row(sessions, message_id).error) == (
        MessageStatus.FAILED, "recipient inactive")


@pytest.mark.parametrize("pushed_before_the_kill", [False, True])
def test_a_claim_left_by_a_killed_pusher_expires_and_the_message_is_pushed_again_with_the_same_key(
    sessions: sessionmaker[Session], clock: Clock, pushed_before_the_kill: bool
) -> None:
    message_id = staff_message(sessions, conversation(sessions))
    channel = RecordingChannel()
    log = MessageLog(sessions)
    assert log.claim_push(message_id, status=MessageStatus.PENDING, attempts=0, now=clock.moment,
                          until=clock.moment + timedelta(seconds=60))  # claimed, then kill -9: never finished
    if pushed_before_the_kill:
        asyncio.run(channel.send(Address(BOT, SENDER, key=str(message_id)), Reply(text="x"), "ja"))
    assert row(sessions, message_id).status == MessageStatus.SENDING

    survivor = make_outbox(sessions, channel, clock, claim_seconds=60)
    assert asyncio.run(survivor.run_once()) == 0  # the claim still holds
    later(clock, 61)
    assert asyncio.run(survivor.run_once()) == 1
    assert set(channel.keys) == {str(message_id)}  # the platform sees the same key: it sends once
    done = row(sessions, message_id)
    assert (done.status, done.attempts) == (MessageStatus.SENT, 2)
    # The killed pusher's claim is gone: had it woken up, it could not overwrite the outcome.
    assert log.retry_push(message_id, 1, at=clock.moment, error="late") is False
    assert log.finish_push(message_id, 1, MessageStatus.FAILED, error="late") is False
    assert row(sessions, message_id).status == MessageStatus.SENT


def test_a_push_crashing_its_pusher_again_and_again_is_given_up(sessions: sessionmaker[Session], clock: Clock) -> None:
    message_id = staff_message(sessions, conversation(sessions))
    log = MessageLog(sessions)
    for attempts, status in ((0, MessageStatus.PENDING), (1, MessageStatus.SENDING)):  # two pushers killed
        assert log.claim_push(message_id, status=status, attempts=attempts, now=clock.moment,
                              until=clock.moment + timedelta(seconds=10))
        later(clock, 11)
    channel = RecordingChannel()
    assert asyncio.run(make_outbox(sessions, channel, clock, max_attempts=2).run_once()) == 0
    assert channel.keys == []
    dead = row(sessions, message_id)
    assert dead.status == MessageStatus.FAILED and dead.error == "gave up after 2 attempts"


def test_a_message_left_sending_before_the_migration_is_pushed(database_url: str, clock: Clock) -> None:
    engine = create_database_engine(database_url)
    try:
        upgrade_database(engine, "0004")
        old = session_factory(engine)
        with old.begin() as session:  # the 0004 schema has no retry_at: write the row by hand
            session.execute(insert(models.Conversation).values(
                id="c" * 32, bot=BOT, channel=RecordingChannel.name, sender=SENDER, active=True,
                created_at=clock.moment, updated_at=clock.moment))
            session.execute(insert(models.Message).values(
                conversation_id="c" * 32, direction="out", role="staff", text="stuck", payload={"text": "stuck"},
                language="ja", status="sending", out_of_turn=True, attempts=0, created_at=clock.moment))
        upgrade_database(engine)
        channel = RecordingChannel()
        assert asyncio.run(make_outbox(session_factory(engine), channel, clock).run_once()) == 1
        assert len(channel.delivered) == 1
    finally:
        engine.dispose()


def test_two_outboxes_racing_never_push_a_message_twice(database_url: str, database: Engine, clock: Clock) -> None:
    sessions = session_factory(database)
    conversation_id = conversation(sessions)
    ids = [staff_message(sessions, conversation_id, f"message {number}") for number in range(30)]
    other_server = create_database_engine(database_url)
    try:
        channel = RecordingChannel()  # the platform both servers push to
        first = make_outbox(sessions, channel, clock, batch=10)
        second = make_outbox(session_factory(other_server), channel, clock, batch=10)

        async def race() -> int:
            total = 0
            for _ in range(5):
                total += sum(await asyncio.gather(first.run_once(), second.run_once()))
            return total

        assert asyncio.run(race()) == 30
    finally:
        other_server.dispose()
    assert sorted(channel.keys) == sorted(str(message_id) for message_id in ids)  # each pushed exactly once
    with sessions() as session:
        statuses = set(session.scalars(select(models.Message.status).where(models.Message.id.in_(ids))))
    assert statuses == {MessageStatus.SENT}


def _aware(moment: datetime | None) -> datetime:
    """SQLite gives timestamps back without a zone (they are UTC)."""
    assert moment is not None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
