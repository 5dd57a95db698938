"""Notifications to a channel that sends in bulk (LINE multicast) reach every resident exactly once.

Residents of the ``line`` channel get notices in batches through a recording bulk sender (at most
two recipients per call), on SQLite and PostgreSQL: batches keep their recipients and key across a
lost answer, a platform that is down, and a worker killed in the middle of a call; a refusal and
the last failed attempt leave dead letters; the district a resident named addresses district notices.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import Components
from bot.enums import DeliveryStatus, NotificationKind, NotificationStatus
from bot.fakes import RecordingBulkSender
from bot.notifications import Audience, NotificationContent
from bot.notifications.delivery import CLAIM_SECONDS
from bot.notifications.settings import QuietHours
from bot.storage import models
from bot.types import InboundMessage
from tests.fakes import RuleNlu
from tests.shared_fixtures import Clock

TEXTS = {"ja": "明日は断水します。", "en": "Water will be off tomorrow."}
#: sender → language of the LINE residents.
RESIDENTS = {"U1": "ja", "U2": "ja", "U3": "en", "U4": "ja", "U5": "en"}


@dataclass
class Line:
    """A deployment whose LINE residents are served by ``sender``."""

    components: Components
    sender: RecordingBulkSender
    clock: Clock

    def notify(self, kind: NotificationKind = NotificationKind.NOTICE, **audience: object) -> int:
        receipt = self.components.notifications.send(kind, Audience("city_hall", **audience),  # type: ignore[arg-type]
                                                     NotificationContent.curated(TEXTS), "tester")
        assert receipt.id is not None
        return receipt.id

    def round(self) -> bool:
        return asyncio.run(self.components.delivery.run_once())

    def counts(self, notification: int) -> dict[str, int]:
        report = self.components.notifications.status(notification)
        assert report is not None
        json = report.to_json()
        return {key: json[key] for key in ("sent", "failed", "skipped", "pending")}

    def delivered_messages(self) -> list[tuple[str, str, str]]:
        """(sender, text, status) of every notice stored in the LINE residents' transcripts."""
        with self.components.store.sessions() as session:
            rows = session.execute(
                select(models.Conversation.sender, models.Message.text, models.Message.status)
                .join(models.Conversation, models.Conversation.id == models.Message.conversation_id)
                .where(models.Message.out_of_turn.is_(True)).order_by(models.Conversation.sender)).all()
        return [(row[0], row[1], row[2]) for row in rows]


@pytest.fixture
def line(database_url: str, build: Callable[..., Components], rule_nlu: RuleNlu) -> Line:
    clock = Clock(datetime(2026, 12, 8, 1, 0, tzinfo=UTC))
    components = build(database_url, nlu=rule_nlu, now=clock)
    for resident, language in RESIDENTS.items():
        components.engine.handle(InboundMessage("city_hall", "line", resident, "hello", language=language))
    sender = RecordingBulkSender(name="line", max_recipients=2)
    components.delivery.register(sender)
    return Line(components, sender, clock)


def test_every_resident_gets_the_notice_once_in_batches_of_their_language(line: Line) -> None:
    notification = line.notify()
    assert line.round() is False
    assert line.round() is False  # nothing twice
    assert all(count == 1 for count in line.sender.received.values()) and set(line.sender.received) == set(RESIDENTS)
    assert all(len(batch.recipients) <= 2 for batch in line.sender.batches)
    for batch in line.sender.batches:  # one language per batch, rendered in it
        assert {RESIDENTS[recipient] for recipient in batch.recipients} == {batch.language}
        assert batch.reply.text == TEXTS[batch.language]
    assert len(line.sender.batches) == 3  # ja: 2 + 1, en: 2
    assert line.delivered_messages() == [(sender, TEXTS[language], "sent") for sender, language in RESIDENTS.items()]
    assert line.counts(notification) == {"sent": 5, "failed": 0, "skipped": 0, "pending": 0}


def test_a_lost_answer_and_a_platform_that_is_down_resend_the_same_batch_once(line: Line) -> None:
    line.sender.max_recipients = 5
    line.sender.errors = ["lost", "later"]
    notification = line.notify(languages=["ja"])
    line.round()
    assert line.counts(notification)["pending"] == 3 and line.delivered_messages() == []
    line.clock.advance(minutes=5)  # past the backoff
    line.round()
    line.clock.advance(minutes=5)
    line.round()
    first, second, third = line.sender.batches
    assert first.key == second.key == third.key and first.recipients == third.recipients
    assert line.sender.received == {"U1": 1, "U2": 1, "U4": 1}
    assert line.counts(notification) == {"sent": 3, "failed": 0, "skipped": 0, "pending": 0}


def test_a_batch_left_by_a_killed_worker_is_taken_over_with_the_same_key(line: Line) -> None:
    notification = line.notify(languages=["en"])
    store = line.components.delivery._batches  # what a worker does before it is killed mid-call
    now = line.clock()
    candidate = store.candidate("line", now)
    assert candidate is not None
    claimed = store.claim("line", candidate, 2, now, now + timedelta(seconds=CLAIM_SECONDS))
    assert claimed is not None and set(claimed.senders) == {"U3", "U5"}
    line.round()
    assert line.sender.batches == []  # the claim still holds: nobody else sends it
    line.clock.advance(seconds=CLAIM_SECONDS + 1)
    line.round()
    [batch] = line.sender.batches
    assert batch.key == claimed.key and set(batch.recipients) == {"U3", "U5"}
    assert line.counts(notification)["sent"] == 2


def test_refused_batches_and_the_last_failed_attempt_become_dead_letters(line: Line) -> None:
    attempts = line.components.notifications._settings.max_attempts
    line.sender.errors = ["refuse"] + ["later"] * (2 * attempts)  # two batches of the next notice, every attempt
    notification = line.notify(languages=["en"])
    line.round()
    assert line.counts(notification) == {"sent": 0, "failed": 2, "skipped": 0, "pending": 0}
    report = line.components.notifications.status(notification)
    assert report is not None and report.status is NotificationStatus.DONE
    assert {letter.reason for letter in report.dead_letters} == {"test channel refused"}
    retried = line.notify(languages=["ja"])
    for _ in range(attempts + 1):
        line.round()
        line.clock.advance(hours=2)
    assert line.counts(retried)["failed"] == 3 and line.sender.received == {}


def test_residents_who_unfollow_before_their_batch_are_skipped(line: Line) -> None:
    notification = line.notify()
    line.components.engine.lifecycle("city_hall", "line", "U2", "unfollow", None)
    line.round()
    assert "U2" not in line.sender.received and len(line.sender.received) == 4
    assert line.counts(notification) == {"sent": 4, "failed": 0, "skipped": 1, "pending": 0}


def test_a_district_notice_reaches_the_residents_who_named_that_district(line: Line) -> None:
    engine = line.components.engine
    engine.handle(InboundMessage("city_hall", "line", "U1", "ごみの日"))
    engine.handle(InboundMessage("city_hall", "line", "U1", '/inform{"district":"minami"}'))
    engine.handle(InboundMessage("city_hall", "line", "U3", "ごみの日"))
    engine.handle(InboundMessage("city_hall", "line", "U3", '/inform{"district":"kita"}'))
    notification = line.notify(NotificationKind.DISASTER, districts=["minami"])
    line.round()
    assert dict(line.sender.received) == {"U1": 1}
    assert line.counts(notification)["sent"] == 1


def test_quiet_hours_hold_bulk_notices_back_too(line: Line) -> None:
    settings = line.components.notifications._settings
    quiet = QuietHours(time(21, 0), time(8, 0), ZoneInfo("Asia/Tokyo"))  # 21:00-08:00 in Tokyo
    object.__setattr__(settings, "quiet_hours", quiet)
    line.clock.set(datetime(2026, 12, 8, 23, 0, tzinfo=ZoneInfo("Asia/Tokyo")))
    notice = line.notify()
    alert = line.notify(NotificationKind.DISASTER)
    line.round()
    assert line.counts(notice)["pending"] == 5 and line.counts(alert)["sent"] == 5
    line.clock.set(datetime(2026, 12, 9, 8, 1, tzinfo=ZoneInfo("Asia/Tokyo")))
    line.round()
    assert line.counts(notice)["sent"] == 5
    assert all(count == 2 for count in line.sender.received.values())


def test_deliveries_are_recorded_per_route(line: Line) -> None:
    notification = line.notify()
    with line.components.store.sessions() as session:
        routes = set(session.scalars(select(models.Delivery.route)
                                     .where(models.Delivery.notification_id == notification)))
        statuses = set(session.scalars(select(models.Delivery.status)))
    assert routes == {"line"} and statuses == {DeliveryStatus.QUEUED}


def test_a_route_beside_the_conversation_leaves_the_transcript_alone(line: Line) -> None:
    """A resident reached on another route (e-mail) does not see the notice again in their conversation."""
    mail = RecordingBulkSender(name="email", max_recipients=10)
    line.components.delivery.register(mail)
    with line.components.store.sessions.begin() as session:
        u3 = session.scalar(select(models.Conversation.id).where(models.Conversation.sender == "U3"))
        session.add(models.Contact(conversation_id=u3, route="email", address="sealed", token="t" * 64,
                                   consented_at=line.clock(), confirmed_at=line.clock()))
    notification = line.notify(languages=["en"])
    line.round()
    assert dict(mail.received) == {"U3": 1} and dict(line.sender.received) == {"U3": 1, "U5": 1}
    assert [row for row in line.delivered_messages() if row[0] == "U3"] == [("U3", TEXTS["en"], "sent")]
    assert line.counts(notification)["sent"] == 3
