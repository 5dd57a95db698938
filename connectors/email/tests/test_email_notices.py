"""E-mail notices end to end against a real SMTP server (aiosmtpd on loopback), on SQLite and PostgreSQL.

A resident asks for e-mail notices in the chat, gives the address and consent on the secure page, gets a
confirmation e-mail in their language and confirms it; only then do broadcasts reach them by e-mail, once,
with an unsubscribe link that works in one click. The address is never in the transcript, the state, the
database in clear, or a log line of ours. An SMTP server that is down is retried, then dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from bot.app import build_components, create_app
from bot.config import AppConfig, load_config
from bot.contacts import normalized_address, offer_email_notices
from bot.enums import NotificationKind
from bot.notifications import Audience, NotificationContent
from bot.privacy import AccessLogFilter, mask_address
from bot.skill_registry import topic_skill
from bot.storage import models
from bot.testing import ConversationEngine
from bot.turn import Turn
from connectors.email.tests.conftest import MORNING, Deployment, body, confirmed_resident, path_of
from tests.fakes import RuleNlu
from tests.shared_fixtures import Clock

ADDRESS = "tran.van.an@example.com"
NOTICE = {"vi": "Ngày mai sẽ cúp nước từ 9 giờ.", "ja": "明日は9時から断水します。",
          "en": "Water will be off from 9 tomorrow."}


def subscribe(deployment: Deployment, sender: str, address: str = ADDRESS, language: str = "vi") -> str:
    """The resident asks for e-mail notices and fills in the secure page; returns the confirmation link's path."""
    chat = deployment.chat(sender, "/email_notices", language)
    catalog = deployment.components.catalog
    assert [reply["text"] for reply in chat["replies"]] == [catalog.text("email.intro", language),
                                                            catalog.text("form.secure_prompt", language)]
    link = next(link["url"] for reply in chat["replies"] for link in reply.get("links", ()))
    page = deployment.client.get(link)
    assert page.status_code == 200
    assert 'type="email"' in page.text and 'type="checkbox"' in page.text
    assert catalog.text("secure.field.email_consent", language) in page.text
    assert deployment.client.post(link, data={"email": address, "email_consent": "yes"}).status_code == 200
    assert deployment.run_effects() == 1  # stores the sealed address, sends the confirmation
    [confirmation] = deployment.smtp.inbox.to(address)
    assert confirmation["Content-Language"] == language
    bot_name = catalog.text("bot.city_hall.name", language)
    assert confirmation["Subject"] == catalog.text("email.confirm.subject", language, bot_name=bot_name)
    text = body(confirmation)
    url = next(word for word in text.split() if "/email/confirm/" in word)
    return path_of(url)


def database_text(deployment: Deployment) -> str:
    """Every row of every table as text."""
    metadata = MetaData()
    metadata.reflect(deployment.components.database)
    with deployment.components.database.connect() as connection:
        return "\n".join(repr(tuple(row)) for table in metadata.sorted_tables
                         for row in connection.execute(select(table)))


def test_a_confirmed_address_gets_each_broadcast_once_in_the_residents_language_until_unsubscribed(
    deployment: Deployment, caplog: pytest.LogCaptureFixture,
) -> None:
    sender = "email-resident-0001"
    catalog = deployment.components.catalog
    with caplog.at_level(logging.DEBUG):
        confirm = subscribe(deployment, sender)
        assert catalog.text("email.confirmation_sent", "vi") in deployment.updates(sender)

        unconfirmed = deployment.broadcast(NOTICE, channel="email")
        assert unconfirmed["recipients"] == 0  # nothing before the resident confirmed

        page = deployment.client.get(confirm)
        assert page.status_code == 200 and mask_address(ADDRESS) in page.text and ADDRESS not in page.text
        assert deployment.client.post(confirm).status_code == 200

        sent = deployment.broadcast(NOTICE, channel="email")
        assert sent["recipients"] == 1
        deployment.deliver()
        deployment.deliver()  # nothing twice
        assert deployment.status(sent["id"])["sent"] == 1

        [notice] = [m for m in deployment.smtp.inbox.to(ADDRESS) if m["List-Unsubscribe"]]
        assert notice["Content-Language"] == "vi"
        assert notice["Subject"] == catalog.text("email.notice.subject", "vi",
                                                 bot_name=catalog.text("bot.city_hall.name", "vi"))
        assert NOTICE["vi"] in body(notice) and NOTICE["vi"] in body(notice, "html")
        assert notice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        unsubscribe = path_of(str(notice["List-Unsubscribe"]).strip("<>"))

        page = deployment.client.get(unsubscribe)
        assert page.status_code == 200 and catalog.text("email.page.unsubscribe_button", "vi") in page.text
        one_click = deployment.client.post(unsubscribe, content=b"List-Unsubscribe=One-Click",
                                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert one_click.status_code == 200 and catalog.text("email.page.unsubscribed", "vi") in one_click.text
        assert deployment.client.post(unsubscribe).status_code == 200  # twice is fine

        after = deployment.broadcast(NOTICE, channel="email")
        assert after["recipients"] == 0
        deployment.deliver()
        assert len(deployment.smtp.inbox.to(ADDRESS)) == 2  # the confirmation and the one notice
        assert deployment.client.post(confirm).status_code == 410  # an old confirmation link no longer works

    transcript = deployment.client.get(f"/api/v1/conversations/city_hall/{sender}").text
    assert ADDRESS not in transcript and ADDRESS not in database_text(deployment)
    assert [contact.address for contact in deployment.contacts()] == [""]  # deleted with the consent
    ours = [record.getMessage() for record in caplog.records if record.name.startswith(("bot", "connectors"))]
    assert ours and not any(ADDRESS in line for line in ours)


def test_without_the_consent_tick_or_with_a_wrong_address_nothing_is_stored_or_sent(deployment: Deployment) -> None:
    sender = "email-resident-0002"
    chat = deployment.chat(sender, "/email_notices", "en")
    link = next(link["url"] for reply in chat["replies"] for link in reply.get("links", ()))
    refused = deployment.client.post(link, data={"email": ADDRESS})
    assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text
    assert deployment.client.post(link, data={"email": "not an address", "email_consent": "yes"}).status_code == 200
    deployment.run_effects()
    assert deployment.components.catalog.text("email.invalid_address", "en") in deployment.updates(sender)
    assert deployment.contacts() == [] and deployment.smtp.inbox.messages == []


def test_an_address_the_server_refuses_is_reported_to_the_resident_and_forgotten(deployment: Deployment) -> None:
    sender = "email-resident-0008"
    deployment.smtp.inbox.refuse["nobody@example.com"] = ["550 5.1.1 No such user"]
    chat = deployment.chat(sender, "/email_notices", "es")
    link = next(link["url"] for reply in chat["replies"] for link in reply.get("links", ()))
    deployment.client.post(link, data={"email": "nobody@example.com", "email_consent": "yes"})
    deployment.run_effects()
    assert deployment.components.catalog.text("email.undeliverable", "es") in deployment.updates(sender)
    assert [(contact.address, contact.confirmed_at) for contact in deployment.contacts()] == [("", None)]


def test_a_resident_can_stop_the_e_mails_from_the_chat(deployment: Deployment) -> None:
    sender = "email-resident-0003"
    deployment.confirmed_resident(sender, ADDRESS, "en")
    deployment.chat(sender, '/email_notices{"action":"stop"}', "en")
    deployment.run_effects()
    assert deployment.components.catalog.text("email.stopped", "en") in deployment.updates(sender)
    assert deployment.broadcast(NOTICE, channel="email")["recipients"] == 0
    assert [contact.address for contact in deployment.contacts()] == [""]


def test_an_smtp_server_that_is_down_is_retried_then_dead_lettered_with_the_reason(deployment: Deployment) -> None:
    deployment.confirmed_resident("email-resident-0004", ADDRESS)
    deployment.smtp.stop()
    sent = deployment.broadcast(NOTICE, channel="email")
    attempts = deployment.components.notifications._settings.max_attempts
    for _ in range(attempts):
        deployment.deliver()
        assert deployment.status(sent["id"])["sent"] == 0
        deployment.clock.advance(hours=2)  # past the backoff
    status = deployment.status(sent["id"])
    assert status["failed"] == 1 and status["status"] == "done"
    [letter] = status["dead_letters"]
    assert letter["attempts"] == attempts and letter["reason"].startswith("smtp unreachable")
    assert ADDRESS not in str(status)


def test_a_recipient_refused_for_now_gets_it_later_and_nobody_gets_it_twice(deployment: Deployment) -> None:
    greylisted = "greylisted@example.net"
    deployment.confirmed_resident("email-resident-0005", ADDRESS)
    deployment.confirmed_resident("email-resident-0006", greylisted)
    deployment.smtp.inbox.refuse[greylisted] = ["451 4.7.1 Greylisted, try again later"]
    sent = deployment.broadcast(NOTICE, channel="email")
    assert sent["recipients"] == 2  # one batch (max_recipients: 2)
    deployment.deliver()
    assert len(deployment.smtp.inbox.to(ADDRESS)) == 1 and deployment.smtp.inbox.to(greylisted) == []
    assert deployment.status(sent["id"])["pending"] == 2  # the batch comes back, for the greylisted one only
    deployment.clock.advance(minutes=10)
    deployment.deliver()
    assert len(deployment.smtp.inbox.to(ADDRESS)) == 1 and len(deployment.smtp.inbox.to(greylisted)) == 1
    assert deployment.status(sent["id"])["sent"] == 2


def test_without_an_smtp_host_the_demo_writes_eml_files(
    database_url: str, make_config: Callable[..., AppConfig],
    shipped_content: tuple[Any, Any, Any],
) -> None:
    config = make_config(database_url)
    config = config.model_copy(update={"connectors": {**config.connectors, "email": {}}})  # no smtp_host
    components = build_components(config, nlu=RuleNlu(), content=shipped_content, now=Clock(MORNING))
    create_app(config, components=components)  # builds the channels: the e-mail channel registers its route
    try:
        confirmed_resident(components, "email-demo-0001", ADDRESS, "ja")
        components.notifications.send(NotificationKind.NOTICE, Audience("city_hall", channels=("email",)),
                                      NotificationContent.curated(NOTICE), "tester")
        asyncio.run(components.delivery.run_once())
        asyncio.run(components.delivery.run_once())
        [written] = Path(config.data_path, "mail").glob("*.eml")
        message = message_from_bytes(written.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage) and message["To"].addresses[0].addr_spec == ADDRESS
        assert NOTICE["ja"] in body(message)
    finally:
        components.database.dispose()


@pytest.mark.parametrize(("given", "stored"), [
    (" An.Tran+city@Example.COM ", "An.Tran+city@example.com"),
    ("no-at-sign.example.com", None), ("two@@example.com", None), ("a@b", None), ("a b@example.com", None),
    ("dots..twice@example.com", None), ("x" * 250 + "@example.com", None),
])
def test_addresses_are_checked_and_masked(given: str, stored: str | None) -> None:
    assert normalized_address(given) == stored
    if stored is not None:
        assert mask_address(stored) == "A***@example.com"


def test_rows_keep_only_a_hash_of_the_link_secret(deployment: Deployment) -> None:
    token = deployment.confirmed_resident("email-resident-0007", ADDRESS)
    with deployment.components.store.sessions() as session:
        row = session.scalar(select(models.Contact))
    assert row is not None and row.token != token and token not in row.address and ADDRESS not in row.address


def test_other_skills_offer_e_mail_notices_with_one_call(conversations: Callable[..., ConversationEngine]) -> None:
    def queue_notice(turn: Turn) -> None:  # what a live service's skill does after subscribing the resident
        offer_email_notices(turn)

    offer = topic_skill("test_queue_notice", queue_notice)
    engine = conversations(rules=[("notify me", "test_queue_notice")], skills=[offer])
    talk = engine.conversation(language="pt")
    talk.say("notify me")
    assert talk.texts == [engine.catalog.text("email.offer", "pt")]
    assert [(button.title, button.payload) for button in talk.buttons] == [
        (engine.catalog.text("email.button", "pt"), "/email_notices")]

    config = load_config(environ={})
    off = config.model_copy(update={"connectors": {**config.connectors, "email": {"enabled": False}}})
    quiet = conversations(rules=[("notify me", "test_queue_notice")], skills=[offer], config=off)
    nothing = quiet.conversation(language="pt")
    nothing.say("notify me")
    assert nothing.buttons == []  # no offer where e-mail is turned off


def test_link_tokens_are_redacted_from_access_logs() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/1.1" %d', (
        "127.0.0.1", "POST", "/email/unsubscribe/Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Njc4OTA?lang=vi", 200), None)
    AccessLogFilter().filter(record)
    assert "Zm9vYmFy" not in record.getMessage() and "/email/unsubscribe/[redacted]" in record.getMessage()
