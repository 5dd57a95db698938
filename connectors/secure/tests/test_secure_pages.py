"""The secure form pages over HTTP, on a real ``SecureForms`` and a SQLite file.

The handler is a stand-in for the engine that stores the inbound message with the real SQL store
(so the database holds what a real turn would have received) and records what it was given.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from bot.payloads import make_payload, parse_payload
from bot.secrets import SecretVault
from bot.secure_forms import SecureForms
from bot.storage import models
from bot.storage.database import create_database_engine, session_factory, upgrade_database
from bot.storage.secure_forms import SecureFormStore
from bot.storage.store import SqlStore
from bot.storage.turns import token_hash
from bot.types import InboundMessage, TranscriptEntry, TurnResult
from connectors.secure import SecureFormPages
from translations.catalog import Catalog

PIN, CARD = "4821", "20019876543210"


@dataclass
class RecordingHandler:
    """A ``MessageHandler`` that stores inbound messages for real and records accept/process calls."""

    store: SqlStore
    accepted: list[InboundMessage] = field(default_factory=list)
    processed: list[tuple[Any, InboundMessage]] = field(default_factory=list)

    def accept(self, message: InboundMessage) -> Any:
        self.accepted.append(message)
        return self.store.record_inbound(message)

    def process(self, record: Any, message: InboundMessage) -> TurnResult:
        self.processed.append((record, message))
        return TurnResult(record.conversation_id, (), "ja", None, None)

    def handle(self, message: InboundMessage) -> TurnResult:
        return self.process(self.accept(message), message)

    def transcript(self, bot: str, sender: str) -> list[TranscriptEntry]:
        return []

    def lifecycle(self, bot: str, channel: str, sender: str, event: str, language: str | None) -> tuple[()]:
        return ()


@dataclass
class Setup:
    """The app under test and what is behind it."""

    client: TestClient
    handler: RecordingHandler
    vault: SecretVault
    sessions: sessionmaker[Session]
    engine: Engine
    path: Path

    def open_link(self, *, language: str = "ja", slots: tuple[str, ...] = ("card", "pin"),
                  expires_in: timedelta = timedelta(minutes=10)) -> str:
        """A conversation with a fresh secure form link, as a turn stores it; returns the token."""
        token = uuid.uuid4().hex + uuid.uuid4().hex[:11]
        conversation_id = uuid.uuid4().hex
        with self.sessions.begin() as session:
            session.add(models.Conversation(id=conversation_id, bot="library", channel="line",
                                            sender=f"U{uuid.uuid4().hex}"))
            session.flush()
            session.add(models.SecretRequest(
                token_hash=token_hash(token), conversation_id=conversation_id, form="renew_loan",
                slots=list(slots), language=language, expires_at=datetime.now(UTC) + expires_in,
            ))
        return token

    def dump(self) -> str:
        """Every row of every table as SQL text, plus the raw bytes of the database and its WAL."""
        connection = sqlite3.connect(self.path)
        try:
            text = "\n".join(connection.iterdump())
        finally:
            connection.close()
        raw = b"".join(p.read_bytes() for p in self.path.parent.glob(self.path.name + "*"))
        return text + raw.decode("latin-1")


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    """A FastAPI app with only the secure form routes, on a migrated SQLite file."""
    path = tmp_path / "yorisoi.db"
    engine = create_database_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    sessions = session_factory(engine)
    handler = RecordingHandler(SqlStore(sessions))
    vault = SecretVault(sessions, Fernet.generate_key())
    catalog = Catalog.load()
    service = SecureForms(SecureFormStore(sessions), vault, handler, lambda: catalog)
    app = FastAPI()
    app.include_router(SecureFormPages(lambda: catalog).router(service))
    with TestClient(app) as client:
        yield Setup(client, handler, vault, sessions, engine, path)
    engine.dispose()


def test_the_page_shows_the_fields_in_the_conversations_language(setup: Setup) -> None:
    token = setup.open_link(language="vi")
    page = setup.client.get(f"/secure/{token}")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="vi">' in html and "Số thẻ" in html and "Mã PIN" in html and "Gửi" in html
    inputs = re.findall(r"<input[^>]*>", html, re.DOTALL)
    assert len(inputs) == 2
    assert all('autocomplete="off"' in tag for tag in inputs)
    assert 'name="card"' in inputs[0] and 'type="text"' in inputs[0]
    assert 'name="pin"' in inputs[1] and 'type="password"' in inputs[1]
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert not re.search(r"(src|href)=", html)  # nothing is loaded from anywhere
    assert setup.client.get(f"/secure/{token}").status_code == 200  # looking does not use the link up


def test_a_submitted_form_reaches_the_conversation_as_a_sealed_reference(setup: Setup) -> None:
    token = setup.open_link()
    done = setup.client.post(f"/secure/{token}", data={"card": f" {CARD} ", "pin": PIN, "extra": "ignored"})
    assert done.status_code == 200 and "送信しました" in done.text
    assert done.headers["cache-control"] == "no-store"
    [message] = setup.handler.accepted
    [(record, processed)] = setup.handler.processed
    assert processed is message and record.duplicate is False
    payload = parse_payload(message.text)
    assert payload is not None and payload.intent == "secret_submitted" and set(payload.entities) == {"sealed"}
    sealed_id = payload.entities["sealed"]
    assert message.text == make_payload("secret_submitted", sealed=sealed_id)
    assert message.metadata == {"origin": "secure_form"} and message.bot == "library" and message.channel == "line"
    assert PIN not in message.text and CARD not in message.text
    assert setup.vault.unseal(sealed_id) == {"card": CARD, "pin": PIN}


def test_a_link_works_exactly_once(setup: Setup) -> None:
    token = setup.open_link(language="en")
    assert setup.client.post(f"/secure/{token}", data={"card": CARD, "pin": PIN}).status_code == 200
    again = setup.client.post(f"/secure/{token}", data={"card": CARD, "pin": "0000"},
                              headers={"accept-language": "en-US,en;q=0.8"})  # a dead link's language: the browser's
    assert again.status_code == 410 and "already been used" in again.text
    assert setup.client.get(f"/secure/{token}").status_code == 410
    assert len(setup.handler.accepted) == 1


def test_an_expired_link_does_not_work(setup: Setup) -> None:
    token = setup.open_link()
    with setup.sessions.begin() as session:
        session.execute(update(models.SecretRequest).where(models.SecretRequest.token_hash == token_hash(token))
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert setup.client.get(f"/secure/{token}").status_code == 410
    expired = setup.client.post(f"/secure/{token}", data={"card": CARD, "pin": PIN})
    assert expired.status_code == 410 and expired.headers["cache-control"] == "no-store"
    assert setup.handler.accepted == []


def test_unknown_and_malformed_tokens(setup: Setup) -> None:
    unknown = setup.client.get("/secure/" + "a" * 43, headers={"accept-language": "ko-KR,ko;q=0.9"})
    assert unknown.status_code == 410 and '<html lang="ko">' in unknown.text and "만료" in unknown.text
    assert setup.client.post("/secure/" + "a" * 43, data={"pin": PIN}).status_code == 410
    assert setup.client.get("/secure/short").status_code == 404
    assert setup.client.post("/secure/bad%20token!%20here%20xyz", data={"pin": PIN}).status_code == 404


def test_empty_fields_are_refused_and_the_link_still_works(setup: Setup) -> None:
    token = setup.open_link(language="en")
    refused = setup.client.post(f"/secure/{token}", data={"card": CARD, "pin": "  "})
    assert refused.status_code == 422 and "Please fill in every field." in refused.text
    assert re.search(r'name="pin"[^>]*aria-invalid="true"[^>]*autofocus', refused.text, re.DOTALL)
    assert CARD not in refused.text  # nothing typed is echoed back
    assert setup.client.post(f"/secure/{token}", data={"card": CARD}).status_code == 422
    assert setup.client.post(f"/secure/{token}", data={"card": CARD, "pin": "9" * 300}).status_code == 422
    assert setup.handler.accepted == []
    assert setup.client.post(f"/secure/{token}", data={"card": CARD, "pin": PIN}).status_code == 200


def test_only_small_url_encoded_forms_are_read(setup: Setup) -> None:
    token = setup.open_link()
    assert setup.client.post(f"/secure/{token}", json={"card": CARD, "pin": PIN}).status_code == 415
    assert setup.client.post(f"/secure/{token}", data={"card": "1" * 10_000, "pin": PIN}).status_code == 413
    assert setup.client.get(f"/secure/{token}").status_code == 200


def test_nothing_typed_reaches_the_database_or_the_logs(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = setup.open_link()
    setup.client.get(f"/secure/{token}")
    assert setup.client.post(f"/secure/{token}", data={"card": CARD, "pin": PIN}).status_code == 200
    [message] = setup.handler.accepted
    sealed_id = message.text.split('"')[-2]
    dump = setup.dump()
    assert "sealed_secrets" in dump and sealed_id in dump and message.text in dump  # the dump is complete
    assert PIN not in dump and CARD not in dump and token not in dump
    assert PIN not in caplog.text and CARD not in caplog.text
    # The test client logs the URLs it requests and SQLAlchemy its parameters; the server's own code never
    # logs a token or a sealed id.
    ours = [r.getMessage() for r in caplog.records if r.name.split(".")[0] in {"bot", "connectors", "uvicorn"}]
    assert not any(token in line or sealed_id in line for line in ours)


def test_discarding_the_sealed_values_removes_them(setup: Setup) -> None:
    token = setup.open_link()
    setup.client.post(f"/secure/{token}", data={"card": CARD, "pin": PIN})
    sealed_id = parse_payload(setup.handler.accepted[0].text).entities["sealed"]  # type: ignore[union-attr]
    setup.vault.discard(sealed_id)
    assert setup.vault.unseal(sealed_id) is None
    with setup.sessions() as session:
        assert session.query(models.SealedSecret).count() == 0


def test_a_dead_links_page_speaks_the_browsers_language() -> None:
    from connectors.secure.pages import browser_language

    languages = Catalog.load().languages
    assert browser_language("zh-TW,zh;q=0.9", languages, "ja") == "zh-Hant"
    assert browser_language("zh-CN", languages, "ja") == "zh-Hans"
    assert browser_language("fr-FR,pt-BR;q=0.8,en;q=0.5", languages, "ja") == "pt"
    assert browser_language("fr, de;q=x", languages, "ja") == "ja"
