"""The NovoSGA adapter against a local fake NovoSGA server, and polled events reaching the live state."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest

from services.queue.novosga import NovosgaError, NovosgaSource
from services.queue.settings import NovosgaSettings
from services.queue.source import FakeQueueSource, SourcePoller
from services.queue.tests.conftest import OPEN, QueueApp
from services.queue.tests.fake_novosga import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME, FakeNovosga
from services.queue.tests.local_server import LocalServer
from services.queue.types import QueueEvent, QueueEventType


@pytest.fixture(scope="module")
def novosga() -> Iterator[tuple[FakeNovosga, str]]:
    """The fake NovoSGA on a free local port (one per module; tests use their own unit numbers)."""
    fake = FakeNovosga()
    server = LocalServer(fake.app())
    url = server.start()
    yield fake, url
    server.stop()


def settings(url: str, **changes: object) -> NovosgaSettings:
    values: dict[str, object] = {
        "url": url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "username": USERNAME,
        "password": PASSWORD, "units": {1: "north"}, "services": {10: "resident_records", 11: "tax"},
        "poll_seconds": 0.5,
    }
    values.update(changes)
    return NovosgaSettings.model_validate(values)


def poll(source: NovosgaSource) -> list[QueueEvent]:
    async def once() -> list[QueueEvent]:
        try:
            return list(await source.poll())
        finally:
            await source.close()

    return asyncio.run(once())


def test_attendances_become_events_once_each(novosga: tuple[FakeNovosga, str]) -> None:
    fake, url = novosga
    fake.units[3] = "Unidade Leste"
    source = NovosgaSource(settings(url, units={3: "east"}))
    fake.issue(3, 10, 101, OPEN)
    fake.issue(3, 11, 102, OPEN + timedelta(minutes=1))
    fake.issue(3, 99, 103, OPEN + timedelta(minutes=2))  # a service not mapped to a window: ignored
    first = poll(source)
    assert [(e.type, e.office, e.service, e.ticket) for e in first] == [
        (QueueEventType.ISSUED, "east", "resident_records", 101), (QueueEventType.ISSUED, "east", "tax", 102)]
    assert first[0].at == OPEN  # NovoSGA's local time, read in the configured time zone
    fake.call(3, 101, OPEN + timedelta(minutes=5), counter=2)
    fake.finish(3, 101, OPEN + timedelta(minutes=9))
    second = poll(source)
    assert [(e.type, e.ticket, e.counter) for e in second] == [
        (QueueEventType.CALLED, 101, "2"), (QueueEventType.SERVED, 101, None)]
    assert second[1].at == OPEN + timedelta(minutes=9)
    assert poll(source) == []  # nothing new


def test_an_expired_token_is_renewed_and_wrong_credentials_are_an_error(novosga: tuple[FakeNovosga, str]) -> None:
    fake, url = novosga
    fake.units[4] = "Unidade Oeste"
    source = NovosgaSource(settings(url, units={4: "west"}))
    fake.issue(4, 10, 1, OPEN)
    assert len(poll(source)) == 1
    before = fake.token_requests
    fake.expire_tokens()
    fake.issue(4, 10, 2, OPEN)
    assert [e.ticket for e in poll(source)] == [2]
    assert fake.token_requests == before + 1
    with pytest.raises(NovosgaError):
        poll(NovosgaSource(settings(url, password="wrong")))


def test_polled_events_reach_the_live_state(queue_app: QueueApp, novosga: tuple[FakeNovosga, str]) -> None:
    fake, url = novosga
    unit = max(fake.units) + 1  # a unit of its own: the fake lives for the module, this test runs per database
    fake.units[unit] = "Unidade Norte"
    source = NovosgaSource(settings(url, units={unit: "north"}))
    poller = SourcePoller(source, queue_app.runtime.ingest.record_many)
    for number in (1, 2, 3):
        fake.issue(unit, 11, number, OPEN + timedelta(minutes=number))
    fake.call(unit, 1, OPEN + timedelta(minutes=4), counter=7)

    async def twice() -> int:
        try:
            return await poller.run_once() + await poller.run_once()
        finally:
            await source.close()

    assert asyncio.run(twice()) == 4  # three tickets and one call; the second poll finds nothing new
    tax = next(s for s in queue_app.office("north")["services"] if s["id"] == "tax")
    assert (tax["waiting"], tax["calling"], tax["counter"]) == (2, 1, "7")


def test_a_failed_apply_is_polled_again_and_refused_events_are_skipped(queue_app: QueueApp) -> None:
    source = FakeQueueSource()
    good = QueueEvent(office="south", type=QueueEventType.ISSUED, at=OPEN, ticket=9, service="tax")
    unknown = QueueEvent(office="atlantis", type=QueueEventType.ISSUED, at=OPEN, ticket=1, service="tax")
    source.add(unknown, good)
    failures = [RuntimeError("database restarting")]

    def flaky(events: Sequence[QueueEvent]) -> object:
        if good in events and failures:
            raise failures.pop()
        return queue_app.runtime.ingest.record_many(events)

    poller = SourcePoller(source, flaky)
    with pytest.raises(RuntimeError):
        asyncio.run(poller.run_once())
    asyncio.run(poller.run_once())  # rewound: the good event again, the unknown office skipped
    assert queue_app.office("south")["waiting"] == 1
