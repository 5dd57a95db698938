"""Sealed secrets and one-time secure form links: encrypted at rest, usable once, gone when expired."""

from __future__ import annotations

import logging
import stat
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.privacy import AccessLogFilter
from bot.secrets import KEY_ENV, KEY_FILE, SecretVault, load_key
from bot.storage import models
from bot.storage.database import create_database_engine, session_factory, upgrade_database
from bot.storage.secure_forms import SecureFormStore
from bot.storage.turns import token_hash

PIN, CARD = "4821", "20019876543210"


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated, empty database (SQLite, and PostgreSQL when reachable)."""
    engine = create_database_engine(database_url)
    upgrade_database(engine)
    yield session_factory(engine)
    engine.dispose()


def add_conversation(sessions: sessionmaker[Session]) -> str:
    """A conversation row (sealed values and links belong to one)."""
    conversation_id = uuid.uuid4().hex
    with sessions.begin() as session:
        session.add(models.Conversation(id=conversation_id, bot="library", channel="line",
                                        sender=f"U{uuid.uuid4().hex}"))
    return conversation_id


def add_link(sessions: sessionmaker[Session], conversation_id: str, token: str,
             expires_in: timedelta = timedelta(minutes=10)) -> None:
    """A secure form link as a turn stores it (only the token's hash)."""
    with sessions.begin() as session:
        session.add(models.SecretRequest(
            token_hash=token_hash(token), conversation_id=conversation_id, form="renew_loan",
            slots=["card", "pin"], language="vi", expires_at=datetime.now(UTC) + expires_in,
        ))


def test_values_round_trip_and_are_encrypted_at_rest(sessions: sessionmaker[Session]) -> None:
    vault = SecretVault(sessions, Fernet.generate_key())
    conversation_id = add_conversation(sessions)
    sealed_id = vault.seal(conversation_id, {"card": CARD, "pin": PIN}, timedelta(minutes=5))
    assert vault.unseal(sealed_id) == {"card": CARD, "pin": PIN}
    with sessions() as session:
        row = session.get(models.SealedSecret, sealed_id)
        assert row is not None and row.conversation_id == conversation_id
        assert PIN not in row.ciphertext and CARD not in row.ciphertext
    assert vault.unseal("no-such-id") is None


def test_discard_removes_the_row(sessions: sessionmaker[Session]) -> None:
    vault = SecretVault(sessions, Fernet.generate_key())
    sealed_id = vault.seal(add_conversation(sessions), {"pin": PIN}, timedelta(minutes=5))
    vault.discard(sealed_id)
    assert vault.unseal(sealed_id) is None
    with sessions() as session:
        assert session.get(models.SealedSecret, sealed_id) is None
    vault.discard(sealed_id)  # discarding twice is harmless


def test_expired_values_do_not_open_and_are_purged(sessions: sessionmaker[Session]) -> None:
    vault = SecretVault(sessions, Fernet.generate_key())
    conversation_id = add_conversation(sessions)
    old = vault.seal(conversation_id, {"pin": PIN}, timedelta(minutes=5))
    fresh = vault.seal(conversation_id, {"pin": "9999"}, timedelta(minutes=5))
    with sessions.begin() as session:
        session.execute(update(models.SealedSecret).where(models.SealedSecret.id == old)
                        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert vault.unseal(old) is None
    assert vault.purge_expired() == 1
    assert vault.unseal(fresh) == {"pin": "9999"}
    with pytest.raises(ValueError):
        vault.seal(conversation_id, {"pin": PIN}, timedelta(0))


def test_another_key_or_a_moved_ciphertext_does_not_open(sessions: sessionmaker[Session],
                                                         caplog: pytest.LogCaptureFixture) -> None:
    key = Fernet.generate_key()
    vault = SecretVault(sessions, key)
    conversation_id = add_conversation(sessions)
    first = vault.seal(conversation_id, {"pin": PIN}, timedelta(minutes=5))
    second = vault.seal(conversation_id, {"pin": "1111"}, timedelta(minutes=5))
    assert SecretVault(sessions, Fernet.generate_key()).unseal(first) is None
    with sessions.begin() as session:
        moved = session.get(models.SealedSecret, first)
        assert moved is not None
        session.execute(update(models.SealedSecret).where(models.SealedSecret.id == second)
                        .values(ciphertext=moved.ciphertext))
    assert vault.unseal(second) is None  # the ciphertext names its own row
    assert PIN not in caplog.text


def test_the_key_comes_from_the_environment_or_a_private_file(tmp_path: Path) -> None:
    configured = Fernet.generate_key()
    assert load_key(tmp_path / "a", {KEY_ENV: configured.decode()}) == configured
    assert not (tmp_path / "a").exists()
    with pytest.raises(ValueError) as bad:
        load_key(tmp_path, {KEY_ENV: "not-a-key"})
    assert "not-a-key" not in str(bad.value)

    created = load_key(tmp_path / "data", {})
    path = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(tmp_path / "data", {}) == created  # the same key on every start
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE]  # no draft left behind
    Fernet(created)


def test_a_link_is_used_exactly_once_even_by_concurrent_requests(sessions: sessionmaker[Session]) -> None:
    requests = SecureFormStore(sessions)
    conversation_id = add_conversation(sessions)
    token = "t" * 43
    add_link(sessions, conversation_id, token)
    peeked = requests.peek(token)
    assert peeked is not None and peeked.slots == ("card", "pin") and peeked.language == "vi"
    assert requests.peek(token) is not None  # looking does not use it
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _n: requests.redeem(token), range(6)))
    winners = [result for result in results if result is not None]
    assert len(winners) == 1
    assert winners[0].conversation_id == conversation_id and winners[0].bot == "library"
    assert winners[0].channel == "line" and winners[0].form == "renew_loan"
    assert requests.peek(token) is None and requests.redeem(token) is None


def test_an_expired_or_unknown_link_does_not_work(sessions: sessionmaker[Session]) -> None:
    requests = SecureFormStore(sessions)
    conversation_id = add_conversation(sessions)
    add_link(sessions, conversation_id, "expired-token-123", expires_in=timedelta(seconds=-1))
    add_link(sessions, conversation_id, "live-token-12345")
    assert requests.peek("expired-token-123") is None and requests.redeem("expired-token-123") is None
    assert requests.redeem("unknown-token-123") is None and requests.redeem("") is None
    assert requests.peek("x" * 10_000) is None
    assert requests.purge_expired() == 1
    assert requests.peek("live-token-12345") is not None


def test_access_logs_do_not_reveal_secure_form_tokens() -> None:
    token = "Zx9_secret-Token-abcdefghijklmnop"
    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', (
        "127.0.0.1:5", "POST", f"/secure/{token}", "1.1", 200), None)
    AccessLogFilter().filter(record)
    assert token not in record.getMessage() and "/secure/[redacted]" in record.getMessage()
