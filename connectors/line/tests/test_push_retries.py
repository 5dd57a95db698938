"""Pushes survive LINE failing for a while, a killed pusher and several servers, and stay under LINE's rate.

The fake LINE API honours X-Line-Retry-Key like LINE (a key accepted once → 409, nothing sent twice),
so ``fake_line.delivered`` is what residents would have received, per retry key.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from linebot.v3.messaging.exceptions import ApiException
from sqlalchemy import select

from bot.channels import Address, ChannelConfigError, TryLater
from bot.desk.outbox import Outbox, OutboxSettings
from bot.enums import MessageStatus, Role
from bot.storage import models
from bot.storage.database import create_database_engine, session_factory
from bot.storage.messages import MessageLog, OutOfTurnMessage
from bot.types import Reply
from connectors.line import LineSettings
from connectors.line.channel import LineMessagingChannel
from connectors.line.push import is_transient, push_retry_key, retry_after_seconds
from connectors.line.rate_limit import DEFAULT_PUSH_RATE, PushRateLimiter, shared_storage_url
from connectors.line.tests.conftest import CHANNELS, LineApp
from connectors.line.tests.fake_line import FakeLine
from connectors.line.tests.test_push import CITY_USER, ask_for_staff, context_of
from tests.shared_fixtures import Clock

PUSH = "/v2/bot/message/push"
REDIS_URL = os.environ.get("YORISOI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))


@pytest.fixture
def redis_url() -> str:
    """The Redis server the limiter tests share (CI must have one)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI but {REDIS_URL} is not reachable")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    """A Redis key prefix of this test only; its keys are deleted afterwards."""
    prefix = f"yorisoi-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def line_outbox(line_app: LineApp, settings: LineSettings, clock: Clock, limiter: PushRateLimiter | None = None,
                sessions: Any = None, **options: Any) -> Outbox:
    """The outbox with the LINE channel, on the test clock."""
    channel = LineMessagingChannel(settings, context_of(line_app), limiter)
    return Outbox(sessions or line_app.components.store.sessions, [channel], audience=line_app.components.engine,
                  settings=OutboxSettings(**options), now=clock)


def pushes(line_app: LineApp) -> list[int]:
    """Ids of the messages for the LINE resident written outside a reply."""
    with line_app.components.store.sessions() as session:
        return list(session.scalars(
            select(models.Message.id).join(models.Conversation)
            .where(models.Conversation.channel == "line", models.Message.out_of_turn.is_(True))
            .order_by(models.Message.id)))


def message(line_app: LineApp, message_id: int) -> models.Message:
    with line_app.components.store.sessions() as session:
        found = session.get(models.Message, message_id)
        assert found is not None
        return found


def keys_pushed(fake_line: FakeLine) -> list[str]:
    return [call.headers.get("x-line-retry-key", "") for call in fake_line.to(PUSH)]


def drain(outbox: Outbox, clock: Clock, rounds: int = 10) -> int:
    """Run the outbox ``rounds`` times, an hour apart (every backoff has passed)."""
    sent = 0
    for _ in range(rounds):
        sent += asyncio.run(outbox.run_once())
        clock.moment += timedelta(hours=1)
    return sent


def assert_each_sent_once(line_app: LineApp, fake_line: FakeLine, ids: list[int]) -> None:
    for message_id in ids:
        assert fake_line.delivered.get(push_retry_key(str(message_id))) == 1
        assert message(line_app, message_id).status == MessageStatus.SENT
    assert sum(fake_line.delivered.values()) == len(ids)


def test_line_answering_500_for_a_while_delays_the_messages_and_sends_each_once(
    line_app: LineApp, line_settings: LineSettings, fake_line: FakeLine, clock: Clock
) -> None:
    ask_for_staff(line_app)
    ids = pushes(line_app)
    assert len(ids) == 2
    fake_line.push_errors = [500] * 5
    outbox = line_outbox(line_app, line_settings, clock)
    assert asyncio.run(outbox.run_once()) == 0
    waiting = message(line_app, ids[0])
    assert (waiting.status, waiting.attempts, waiting.error) == (MessageStatus.PENDING, 1, "line 500")
    assert drain(outbox, clock) == 2
    assert_each_sent_once(line_app, fake_line, ids)
    assert len(fake_line.to(PUSH)) == 5 + 2
    assert set(keys_pushed(fake_line)) == {push_retry_key(str(message_id)) for message_id in ids}


def test_a_push_whose_answer_was_lost_is_retried_and_line_sends_it_once(
    line_app: LineApp, line_settings: LineSettings, fake_line: FakeLine, clock: Clock
) -> None:
    ask_for_staff(line_app)
    ids = pushes(line_app)
    fake_line.lost_answers = 1  # LINE accepted the first push but its answer never arrived
    assert drain(line_outbox(line_app, line_settings, clock), clock) == 2
    assert_each_sent_once(line_app, fake_line, ids)
    first = push_retry_key(str(ids[0]))
    assert keys_pushed(fake_line).count(first) == 2  # retried once, answered 409 the second time


def test_a_push_line_refuses_for_good_fails_with_the_reason_and_is_not_retried(
    line_app: LineApp, line_settings: LineSettings, fake_line: FakeLine, clock: Clock
) -> None:
    ask_for_staff(line_app)
    refused, other = pushes(line_app)
    fake_line.push_errors = [400]
    outbox = line_outbox(line_app, line_settings, clock)
    drain(outbox, clock)
    failed = message(line_app, refused)
    assert (failed.status, failed.error, failed.attempts) == (MessageStatus.FAILED, "refused by line", 1)
    assert keys_pushed(fake_line).count(push_retry_key(str(refused))) == 1
    assert message(line_app, other).status == MessageStatus.SENT
    assert [dead.message_id for dead in outbox.failed_pushes()] == [refused]


def test_line_asking_to_slow_down_is_honoured(
    line_app: LineApp, line_settings: LineSettings, fake_line: FakeLine, clock: Clock
) -> None:
    ask_for_staff(line_app)
    first = pushes(line_app)[0]
    fake_line.push_errors = [429]
    fake_line.push_error_headers = {"retry-after": "7"}
    asyncio.run(line_outbox(line_app, line_settings, clock).run_once())
    waiting = message(line_app, first)
    assert (waiting.status, waiting.error) == (MessageStatus.PENDING, "line 429")
    assert waiting.retry_at is not None
    retry_at = waiting.retry_at if waiting.retry_at.tzinfo else waiting.retry_at.replace(tzinfo=UTC)
    assert abs(retry_at - (clock.moment + timedelta(seconds=7))) < timedelta(seconds=1)


def test_which_line_answers_are_worth_retrying() -> None:
    def refused(status: int | None, body: bytes = b"") -> ApiException:
        error = ApiException(status=status)
        error.body = body
        return error

    assert [is_transient(refused(status)) for status in (500, 502, 503, 429, None)] == [True] * 5
    assert [is_transient(refused(status)) for status in (400, 401, 403, 404)] == [False] * 4
    assert not is_transient(refused(429, b'{"message": "You have reached your monthly limit."}'))
    dated = refused(429)
    dated.headers = {"retry-after": "Wed, 21 Oct 2026 07:28:30 GMT"}
    assert retry_after_seconds(dated, now=datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC)) == 30.0
    assert retry_after_seconds(refused(429)) is None


def test_line_unreachable_means_try_later(
    line_app: LineApp, line_settings: LineSettings, fake_line: FakeLine, clock: Clock
) -> None:
    ask_for_staff(line_app)
    first = pushes(line_app)[0]
    unreachable = LineSettings(api_base="http://127.0.0.1:9", channels=line_settings.channels)
    asyncio.run(line_outbox(line_app, unreachable, clock).run_once())
    waiting = message(line_app, first)
    assert waiting.status == MessageStatus.PENDING and (waiting.error or "").startswith("line unreachable")
    assert drain(line_outbox(line_app, line_settings, clock), clock) == 2  # LINE is back
    assert_each_sent_once(line_app, fake_line, pushes(line_app))


@pytest.mark.parametrize("pushed_before_the_kill", [False, True])
def test_a_push_left_sending_by_a_killed_pusher_is_pushed_again_with_the_same_retry_key(
    line_app: LineApp, line_settings: LineSettings, fake_line: FakeLine, clock: Clock, pushed_before_the_kill: bool
) -> None:
    ask_for_staff(line_app)
    ids = pushes(line_app)
    stuck = ids[0]
    log = MessageLog(line_app.components.store.sessions)
    assert log.claim_push(stuck, status=MessageStatus.PENDING, attempts=0, now=clock.moment,
                          until=clock.moment + timedelta(seconds=60))
    if pushed_before_the_kill:  # LINE accepted it, then the pusher was killed before it wrote "sent"
        killed = LineMessagingChannel(line_settings, context_of(line_app))
        assert asyncio.run(killed.send(Address("city_hall", CITY_USER, key=str(stuck)), Reply(text="x"), "ja"))
    outbox = line_outbox(line_app, line_settings, clock, claim_seconds=60)
    assert asyncio.run(outbox.run_once()) == 0  # the claim holds; the next message waits behind it
    assert message(line_app, stuck).status == MessageStatus.SENDING
    clock.moment += timedelta(seconds=61)
    assert asyncio.run(outbox.run_once()) == 2
    assert_each_sent_once(line_app, fake_line, ids)
    assert set(keys_pushed(fake_line)) == {push_retry_key(str(message_id)) for message_id in ids}
    assert len(fake_line.to(PUSH)) == (3 if pushed_before_the_kill else 2)


def test_two_servers_racing_never_push_a_message_twice(
    line_app: LineApp, line_settings: LineSettings, fake_line: FakeLine, clock: Clock
) -> None:
    ask_for_staff(line_app)
    [conversation_id] = {message(line_app, message_id).conversation_id for message_id in pushes(line_app)}
    log = MessageLog(line_app.components.store.sessions)
    for number in range(20):
        log.add_out_of_turn(OutOfTurnMessage(conversation_id, Role.STAFF, Reply(text=f"お知らせ {number}"), "ja"))
    ids = pushes(line_app)
    other_server = create_database_engine(line_app.components.config.database_url)
    try:
        first = line_outbox(line_app, line_settings, clock, batch=8)
        second = line_outbox(line_app, line_settings, clock, sessions=session_factory(other_server), batch=8)

        async def race() -> int:
            total = 0
            for _ in range(4):
                total += sum(await asyncio.gather(first.run_once(), second.run_once()))
            return total

        assert asyncio.run(race()) == len(ids) == 22
    finally:
        other_server.dispose()
    assert_each_sent_once(line_app, fake_line, ids)
    assert len(fake_line.to(PUSH)) == 22  # not even a 409: each message was pushed by one server


def test_a_push_over_the_rate_limit_waits_for_the_outbox(
    line_app: LineApp, line_settings: LineSettings, fake_line: FakeLine, clock: Clock
) -> None:
    ask_for_staff(line_app)
    first, second = pushes(line_app)
    limiter = PushRateLimiter(1, max_wait_seconds=0)
    assert asyncio.run(line_outbox(line_app, line_settings, clock, limiter).run_once()) == 1
    assert message(line_app, first).status == MessageStatus.SENT
    waiting = message(line_app, second)
    assert (waiting.status, waiting.error) == (MessageStatus.PENDING, "push rate limit")
    assert len(fake_line.to(PUSH)) == 1
    assert waiting.retry_at is not None
    retry_at = waiting.retry_at if waiting.retry_at.tzinfo else waiting.retry_at.replace(tzinfo=UTC)
    assert retry_at - clock.moment <= timedelta(seconds=1)  # when the window has room again


def test_two_processes_sharing_redis_never_exceed_the_rate_together(redis_url: str, key_prefix: str) -> None:
    rate = 5
    # Two limiters with their own Redis connections, as two servers would have.
    limiters = [PushRateLimiter(rate, redis_url=redis_url, key_prefix=key_prefix, max_wait_seconds=10)
                for _ in range(2)]
    times: list[float] = []

    async def push_burst(limiter: PushRateLimiter, count: int) -> None:
        for _ in range(count):
            await limiter.acquire("city_hall")
            times.append(time.time())

    async def both() -> None:
        await asyncio.gather(push_burst(limiters[0], 7), push_burst(limiters[1], 7))

    started = time.monotonic()
    asyncio.run(both())
    elapsed = time.monotonic() - started
    times.sort()
    assert len(times) == 14
    # At most ``rate`` pushes in any one-second window: the (rate+1)-th push after any push is a second later.
    tolerance = 0.05  # the time is taken just after the limiter answered
    assert all(times[i + rate] - times[i] >= 1 - tolerance for i in range(len(times) - rate))
    assert elapsed >= 2 - tolerance  # 14 pushes at 5/s: the third second has begun
    # Each bot (LINE channel) has its own window.
    asyncio.run(limiters[0].acquire("library"))


def test_a_full_shared_window_asks_to_try_later(redis_url: str, key_prefix: str) -> None:
    first = PushRateLimiter(2, redis_url=redis_url, key_prefix=key_prefix, max_wait_seconds=0)
    second = PushRateLimiter(2, redis_url=redis_url, key_prefix=key_prefix, max_wait_seconds=0)
    asyncio.run(first.acquire("city_hall"))
    asyncio.run(second.acquire("city_hall"))
    with pytest.raises(TryLater) as later:
        asyncio.run(first.acquire("city_hall"))
    assert later.value.reason == "push rate limit"
    assert later.value.retry_after is not None and 0 < later.value.retry_after <= 1


def test_an_unreachable_redis_limits_each_process_instead_of_stopping_pushes() -> None:
    limiter = PushRateLimiter(1, redis_url="redis://127.0.0.1:9/0", max_wait_seconds=0)
    asyncio.run(limiter.acquire("city_hall"))
    with pytest.raises(TryLater):
        asyncio.run(limiter.acquire("city_hall"))


def test_the_push_rate_is_configured_per_deployment_and_shared_through_redis(line_app: LineApp) -> None:
    library = CHANNELS["library"]
    environ = {"LINE_LIBRARY_CHANNEL_SECRET": library.secret, "LINE_LIBRARY_ACCESS_TOKEN": library.access_token,
               "YORISOI_REDIS_URL": "redis://127.0.0.1:6379/0"}
    channel = LineMessagingChannel.from_config({"enabled": True, "push_rate_per_second": 50},
                                               context_of(line_app, environ))
    assert channel.limiter.rate.amount == 50 and channel.limiter.shared
    default = LineMessagingChannel.from_config({}, context_of(line_app, {}))
    assert default.limiter.rate.amount == DEFAULT_PUSH_RATE == 1000 and not default.limiter.shared
    with pytest.raises(ChannelConfigError, match=r"connectors\.line\.push_rate_per_second"):
        LineMessagingChannel.from_config({"push_rate_per_second": 0}, context_of(line_app, {}))
    assert shared_storage_url({"YORISOI_BROKER_URL": "redis://queue:6379/1"}) == "redis://queue:6379/1"
    assert shared_storage_url({"YORISOI_BROKER_URL": "amqp://queue//"}) is None
    assert shared_storage_url({"YORISOI_REDIS_URL": "redis://a/0", "YORISOI_BROKER_URL": "redis://b/0"}) == \
        "redis://a/0"
