"""The ``messages`` table's writer (``bot.storage.messages.MessageLog``) and the desk's typed views."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.desk.views import Assignee, HandoffSummary, Participant
from bot.enums import HandoffKind, HandoffReason, HandoffStatus, MessageStatus, Role
from bot.storage import models
from bot.storage.database import create_database_engine, session_factory, upgrade_database
from bot.storage.messages import MessageLog, OutOfTurnMessage
from bot.types import Button, Reply


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'y.db'}")
    upgrade_database(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        session.add(models.Conversation(id="c1", bot="residents", channel="web", sender="r1"))
    return factory


def test_an_out_of_turn_message_is_stored_pending_with_its_extras(sessions: sessionmaker[Session]) -> None:
    log = MessageLog(sessions)
    reply = Reply(text="chào", buttons=(Button("OK", "/ok"),))
    message_id = log.add_out_of_turn(OutOfTurnMessage("c1", Role.STAFF, reply, "vi", extra={"source_text": "hi"}))
    with sessions() as session:
        row = session.get(models.Message, message_id)
        assert row is not None
        assert (row.direction, row.role, row.status, row.out_of_turn) == ("out", "staff", "pending", True)
        assert row.payload == {**reply.to_dict(), "source_text": "hi"} and row.language == "vi"


def test_a_write_in_the_callers_transaction_rolls_back_with_it(sessions: sessionmaker[Session]) -> None:
    log = MessageLog(sessions)
    with pytest.raises(RuntimeError), sessions.begin() as session:
        log.add_out_of_turn(OutOfTurnMessage("c1", Role.SYSTEM, Reply(text="notice"), "ja"), session=session)
        raise RuntimeError("the caller fails after the write")
    with sessions() as session:
        assert session.query(models.Message).count() == 0


def test_a_status_moves_only_from_the_expected_one(sessions: sessionmaker[Session]) -> None:
    log = MessageLog(sessions)
    message_id = log.add_out_of_turn(OutOfTurnMessage("c1", Role.BOT, Reply(text="rate us"), "ja"))
    assert log.set_status(message_id, MessageStatus.SENDING, expected=MessageStatus.PENDING)
    assert not log.set_status(message_id, MessageStatus.SENDING, expected=MessageStatus.PENDING)  # taken already
    assert log.set_status(message_id, MessageStatus.FAILED, error="unreachable")
    assert not log.set_status(message_id + 1, MessageStatus.SENT)
    log.keep_translation(message_id, "en", {"text": "rate", "language": "en"})
    with sessions() as session:
        row = session.get(models.Message, message_id)
        assert row is not None and (row.status, row.error) == ("failed", "unreachable")
        assert row.payload["translations"] == {"en": {"text": "rate", "language": "en"}}


def test_a_summary_is_the_json_the_console_always_got() -> None:
    created = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    summary = HandoffSummary(
        id=7, bot="residents", bot_name="くらし", channel="web", sender="r1", status=HandoffStatus.ACTIVE,
        kind=HandoffKind.INTERPRETER, reason=HandoffReason.KIOSK, language="vi", language_name="Tiếng Việt",
        waiting_seconds=42, created_at=created, claimed_at=None, assigned_to=Assignee("sato", "佐藤"), ticket=None,
        callback_phone=None, callback_message=None, labels=("a",), satisfaction=None, location="branch-7",
        participants=(Participant(Role.INTERPRETER, "lan", "Lan", "ja"),))
    data = summary.to_json()
    assert data["status"] == "active" and type(data["status"]) is str and data["kind"] == "interpreter"
    assert data["created_at"] == "2026-11-24T01:00:00+00:00" and data["claimed_at"] is None
    assert data["assigned_to"] == {"username": "sato", "display_name": "佐藤"} and data["labels"] == ["a"]
    assert data["participants"] == [{"role": "interpreter", "username": "lan", "display_name": "Lan",
                                     "language": "ja"}]
    assert summary["id"] == 7 and summary["sender"] == "r1"  # dict-style reads still work (deprecated)
