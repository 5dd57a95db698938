"""Notifications reach each active follower once, in their language, through their own channel.

Three followers of the city hall bot (web in English, kiosk in Vietnamese, LINE in Japanese) and
one who unfollowed, on SQLite and PostgreSQL; the broadcasts API on the same deployment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.app import Components, build_components, channel_policy, create_app
from bot.channels import ChannelContext
from bot.config import AppConfig, NotificationsConfig, QuietHoursConfig
from bot.desk.outbox import Outbox
from bot.enums import DeliveryStatus, NotificationKind, NotificationStatus, Role
from bot.notifications import Audience, NotificationContent
from bot.notifications.render import NoticeRenderer
from bot.storage import models
from bot.topics import TopicContract
from bot.types import InboundMessage
from connectors.line import LineSettings
from connectors.line.channel import LineMessagingChannel
from connectors.line.tests.conftest import CHANNELS
from connectors.line.tests.fake_line import FakeLine
from knowledge.base import CuratedKnowledgeBase
from tests.fakes import RuleNlu
from tests.shared_fixtures import Clock
from translations.catalog import Catalog

TOKYO = ZoneInfo("Asia/Tokyo")
DAYTIME = datetime(2026, 12, 3, 10, 0, tzinfo=TOKYO)
LINE_USER = "U8f3a2b1c4d5e6f708192a3b4c5d6e7f8"
#: channel → (sender, language) of the three followers.
FOLLOWERS = {"web": ("web-resident-1", "en"), "kiosk": ("kiosk-session-1", "vi"), "line": (LINE_USER, "ja")}
TEXTS = {"en": "The city hall is closed on Monday.", "ja": "月曜日は市役所が休みです。"}
ADMIN_TOKEN = "admin-secret-token"
CURATED = NotificationContent.curated(TEXTS)


@dataclass
class City:
    """A deployment with the followers; ``ids`` maps channel → conversation id."""

    components: Components
    clock: Clock
    ids: dict[str, str]
    gone: str

    def out_of_turn(self, conversation_id: str) -> list[models.Message]:
        """The conversation's out-of-turn messages."""
        with self.components.store.sessions() as session:
            return list(session.scalars(select(models.Message).where(
                models.Message.conversation_id == conversation_id, models.Message.out_of_turn.is_(True))))


@pytest.fixture
def make_city(database_url: str, make_config: Callable[..., AppConfig],
              shipped_content: tuple[CuratedKnowledgeBase, Catalog, TopicContract]) -> Callable[..., City]:
    """Build the deployment (``notifications`` settings as given, no quiet hours by default) and its residents."""

    def make(moment: datetime = DAYTIME, **notifications: Any) -> City:
        config = make_config(database_url)
        config = config.model_copy(update={"notifications": NotificationsConfig(**notifications)})
        clock = Clock(moment)
        components = build_components(config, nlu=RuleNlu(), content=shipped_content, now=clock)
        engine = components.engine
        for channel, (sender, language) in FOLLOWERS.items():
            engine.handle(InboundMessage("city_hall", channel, sender, "hello", language=language))
        engine.handle(InboundMessage("city_hall", "web", "web-resident-gone", "hello", language="en"))
        engine.lifecycle("city_hall", "web", "web-resident-gone", "unfollow", None)
        with components.store.sessions() as session:
            ids = {row.channel + ("-gone" if row.sender == "web-resident-gone" else ""): row.id
                   for row in session.scalars(select(models.Conversation))}
        return City(components, clock, {channel: ids[channel] for channel in FOLLOWERS}, ids["web-gone"])

    return make


@pytest.fixture
def city(make_city: Callable[..., City]) -> City:
    """The deployment at 10:00 in Tokyo, without quiet hours."""
    return make_city()


def broadcast(city: City, content: NotificationContent = CURATED,
              kind: NotificationKind = NotificationKind.NOTICE, **audience: Any) -> int:
    receipt = city.components.notifications.send(kind, Audience("city_hall", **audience), content, "tester")
    assert receipt.id is not None
    return receipt.id


def test_each_follower_gets_one_message_in_their_language_and_the_unfollowed_none(city: City) -> None:
    service = city.components.notifications
    receipt = service.send(NotificationKind.NOTICE, Audience("city_hall"), NotificationContent.curated(TEXTS), "me")
    assert (receipt.recipients, receipt.missing_languages) == (3, ("vi",))
    assert service.status(receipt.id or 0).status is NotificationStatus.QUEUED  # type: ignore[union-attr]
    assert service.deliver_due() == 3
    assert service.deliver_due() == 0  # nothing twice
    english, vietnamese, japanese = (city.out_of_turn(city.ids[channel]) for channel in ("web", "kiosk", "line"))
    assert [(m.text, m.language, m.role) for m in english] == [(TEXTS["en"], "en", Role.SYSTEM)]
    assert [m.text for m in japanese] == [TEXTS["ja"]]
    [fallback] = vietnamese
    catalog = city.components.catalog
    assert fallback.language == "vi" and fallback.text == catalog.text(
        "notification.other_language", "vi", language_name="English", text=TEXTS["en"])
    assert fallback.payload["fallback_language"] == "en" and not fallback.payload.get("machine_translated")
    assert city.out_of_turn(city.gone) == []
    report = service.status(receipt.id or 0)
    assert report is not None and report.status is NotificationStatus.DONE
    assert report.to_json()["sent"] == 3 and report.to_json()["pending"] == 0
    # the web widget fetches its message (marked sent), as the kiosk does
    [update] = city.components.engine.updates("city_hall", "web", FOLLOWERS["web"][0], 0)
    assert update.text == TEXTS["en"] and update.payload["notification_id"] == receipt.id


def test_a_catalog_notice_filtered_by_channel_and_language(city: City) -> None:
    service = city.components.notifications
    notice = NotificationContent.catalog("demo.notice")
    assert service.preview(Audience("city_hall", channels=("web", "kiosk")), notice).recipients == 2
    broadcast(city, notice, channels=("web", "kiosk"), languages=("vi",))
    assert service.deliver_due() == 1
    [message] = city.out_of_turn(city.ids["kiosk"])
    assert message.text == city.components.catalog.text("demo.notice", "vi")
    assert message.payload["catalog_key"] == "demo.notice"
    assert city.out_of_turn(city.ids["web"]) == [] and city.out_of_turn(city.ids["line"]) == []


def test_one_conversation_and_a_resident_who_unfollows_before_delivery(city: City) -> None:
    service = city.components.notifications
    notification = broadcast(city, conversation_ids=(city.ids["web"], city.ids["line"], city.gone))
    city.components.engine.lifecycle("city_hall", "line", LINE_USER, "unfollow", None)
    assert service.deliver_due() == 1
    report = service.status(notification)
    assert report is not None and report.to_json()["sent"] == 1 and report.to_json()["skipped"] == 1
    with city.components.store.sessions() as session:
        reasons = set(session.scalars(select(models.Delivery.reason).where(
            models.Delivery.status == DeliveryStatus.SKIPPED)))
    assert reasons == {"unfollowed"}


def test_quiet_hours_delay_a_notice_but_not_a_disaster_alert(make_city: Callable[..., City]) -> None:
    city = make_city(datetime(2026, 12, 3, 22, 30, tzinfo=TOKYO),
                     quiet_hours=QuietHoursConfig(start="21:00", end="08:00"))
    service = city.components.notifications
    notice = broadcast(city)
    alert = broadcast(city, NotificationContent.curated({"en": "Evacuate now.", "ja": "今すぐ避難してください。"}),
                      kind=NotificationKind.DISASTER, channels=("line",))
    assert service.deliver_due() == 1
    assert [m.text for m in city.out_of_turn(city.ids["line"])] == ["今すぐ避難してください。"]
    assert service.status(notice).status is NotificationStatus.QUEUED  # type: ignore[union-attr]
    assert service.status(alert).status is NotificationStatus.DONE  # type: ignore[union-attr]
    city.clock.moment = datetime(2026, 12, 4, 7, 59, tzinfo=TOKYO)
    assert service.deliver_due() == 0
    city.clock.moment = datetime(2026, 12, 4, 8, 0, tzinfo=TOKYO)
    assert service.deliver_due() == 3


def test_failing_deliveries_are_retried_with_backoff_then_dead_lettered(
    make_city: Callable[..., City], monkeypatch: pytest.MonkeyPatch
) -> None:
    city = make_city(max_attempts=2, retry_seconds=60)
    service = city.components.notifications

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("model crashed")

    monkeypatch.setattr(NoticeRenderer, "render", broken)
    notification = broadcast(city, channels=("web",))
    assert service.deliver_due() == 0
    city.clock.moment += timedelta(seconds=59)
    assert service.deliver_due() == 0 and service.status(notification).to_json()["pending"] == 1  # type: ignore[union-attr]
    city.clock.moment += timedelta(seconds=2)
    assert service.deliver_due() == 0
    report = service.status(notification)
    assert report is not None and report.status is NotificationStatus.DONE
    assert report.to_json()["failed"] == 1
    assert report.to_json()["dead_letters"] == [{"conversation_id": city.ids["web"], "channel": "web",
                                                 "reason": "RuntimeError", "attempts": 2}]
    assert city.out_of_turn(city.ids["web"]) == []


def test_the_line_follower_gets_one_multicast_and_the_outbox_pushes_nothing_more(city: City) -> None:
    fake = FakeLine(tokens={channel.access_token for channel in CHANNELS.values()})
    fake.start()
    try:
        settings = LineSettings(api_base=fake.base, data_api_base=fake.base, channels=CHANNELS)
        components = city.components
        context = ChannelContext(handler=components.engine, policy=channel_policy(components.config),
                                 catalog=lambda: components.engine.catalog, environ={}, enabled=frozenset({"line"}))
        line = LineMessagingChannel(settings, context)
        components.delivery.register(line)
        outbox = Outbox(components.store.sessions, [line], audience=components.engine)
        notification = broadcast(city)
        assert asyncio.run(components.delivery.run_once()) is False  # nothing left
        asyncio.run(outbox.run_once())
        asyncio.run(components.delivery.run_once())
        multicasts, pushes = fake.to("/v2/bot/message/multicast"), fake.to("/v2/bot/message/push")
    finally:
        fake.stop()
    assert pushes == [] and [call.json["to"] for call in multicasts] == [[LINE_USER]]
    assert [m["text"] for m in multicasts[0].json["messages"] if m["type"] == "text"] == [TEXTS["ja"]]
    assert multicasts[0].headers["x-line-retry-key"]
    [message] = city.out_of_turn(city.ids["line"])  # the transcript keeps it, as delivered
    assert (message.text, message.status) == (TEXTS["ja"], "sent")
    report = components.notifications.status(notification)
    assert report is not None and report.to_json()["sent"] == 3 and report.status is NotificationStatus.DONE


# --- the broadcasts API ------------------------------------------------------------------------------


@pytest.fixture
def api(city: City, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app's HTTP client (no lifespan: nothing is delivered in the background)."""
    monkeypatch.setenv("YORISOI_ADMIN_TOKEN", ADMIN_TOKEN)
    yield TestClient(create_app(city.components.config, components=city.components))


def post(api: TestClient, body: dict[str, Any], token: str | None = ADMIN_TOKEN) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return api.post("/api/v1/admin/broadcasts", json=body, headers=headers)


def test_the_api_needs_the_admin_token_or_an_admin_session(api: TestClient, city: City) -> None:
    body = {"bot": "city_hall", "message": TEXTS}
    assert post(api, body, token=None).status_code == 401
    assert post(api, body, token="wrong").status_code == 401
    accounts = city.components.accounts
    accounts.create_user("sato", "password-1", "staff")
    accounts.create_user("root", "password-1", "admin")
    staff, admin = accounts.login("sato", "password-1"), accounts.login("root", "password-1")
    assert staff is not None and admin is not None
    assert post(api, body, token=staff.token).status_code == 403
    answer = post(api, body, token=admin.token)
    assert answer.status_code == 200 and answer.json()["recipients"] == 3
    assert api.get(f"/api/v1/admin/broadcasts/{answer.json()['id']}").status_code == 401


@pytest.mark.parametrize(("body", "code"), [
    ({"bot": "fire_station", "message": TEXTS}, "unknown_bot"),
    ({"bot": "city_hall", "message": {"xx": "hello"}}, "unsupported_language"),
    ({"bot": "city_hall", "message": TEXTS, "audience": {"languages": ["klingon"]}}, "unsupported_language"),
    ({"bot": "city_hall", "message": {}}, "empty_message"),
    ({"bot": "city_hall", "message": {"en": "  "}}, "empty_message"),
    ({"bot": "city_hall", "message": {"key": "no.such.key"}}, "unknown_catalog_key"),
    ({"bot": "city_hall", "message": {"key": "greet.welcome"}}, "missing_params"),
    ({"bot": "city_hall", "message": TEXTS, "audience": {"districts": ["atlantis"]}}, "invalid_audience"),
    ({"bot": "city_hall", "message": TEXTS, "audience": {"channel": "fax"}}, "invalid_audience"),
    ({"bot": "city_hall", "message": TEXTS, "audience": {"subscription": "garbage"}}, "invalid_request"),
    ({"bot": "city_hall", "message": TEXTS, "kind": "gossip"}, "invalid_kind"),
])
def test_the_api_refuses_what_it_cannot_send(api: TestClient, body: dict[str, Any], code: str) -> None:
    answer = post(api, body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (422, code)
    if code == "invalid_audience" and "districts" in body["audience"]:
        assert "unknown district 'atlantis'" in answer.json()["error"]["message"]


def test_the_api_warns_then_sends_and_reports(api: TestClient, city: City) -> None:
    preview = post(api, {"bot": "city_hall", "message": TEXTS, "dry_run": True})
    assert preview.json() == {"id": None, "recipients": 3, "missing_languages": ["vi"]}
    answer = post(api, {"bot": "city_hall", "message": TEXTS, "audience": {"channel": "line"}})
    assert answer.status_code == 200
    sent = answer.json()
    assert sent["recipients"] == 1 and sent["missing_languages"] == []
    url = f"/api/v1/admin/broadcasts/{sent['id']}"
    headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    status = api.get(url, headers=headers).json()
    assert (status["status"], status["pending"], status["sent"]) == ("queued", 1, 0)
    city.components.notifications.deliver_due()
    status = api.get(url, headers=headers).json()
    assert {key: status[key] for key in ("status", "sent", "failed", "skipped", "pending")} == {
        "status": "done", "sent": 1, "failed": 0, "skipped": 0, "pending": 0}
    assert api.get("/api/v1/admin/broadcasts/999", headers=headers).status_code == 404
