"""The SQL store on SQLite and PostgreSQL: atomic turns, races between servers, consents."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.storage.database import create_database_engine, session_factory, upgrade_database
from bot.storage.store import CompletedTurn, ConsentStore, OutboundDraft, SqlStore, StateConflict
from bot.types import InboundMessage, Location, Reply


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    engine = create_database_engine(database_url)
    upgrade_database(engine)
    yield SqlStore(session_factory(engine))
    engine.dispose()


def message(text: str = "hello", **kwargs: object) -> InboundMessage:
    return InboundMessage(bot="library", channel="web", sender="u1", text=text, **kwargs)  # type: ignore[arg-type]


def test_two_servers_writing_the_same_turn_cannot_both_win(store: SqlStore) -> None:
    record = store.record_inbound(message())
    state_a = store.load_state(record.conversation_id)
    state_b = store.load_state(record.conversation_id)
    state_a.language = "en"
    state_b.language = "vi"
    turn = dict(conversation_id=record.conversation_id, inbound_id=record.message_id, outbound=(),
                language="en", topic="greet", confidence=0.9)
    store.complete_turn(CompletedTurn(state=state_a, **turn))  # type: ignore[arg-type]
    with pytest.raises(StateConflict):
        store.complete_turn(CompletedTurn(state=state_b, **turn))  # type: ignore[arg-type]
    assert store.load_state(record.conversation_id).language == "en"


def test_a_failed_write_leaves_nothing_half_written(store: SqlStore) -> None:
    record = store.record_inbound(message())
    stale = store.load_state(record.conversation_id)
    store.complete_turn(CompletedTurn(record.conversation_id, record.message_id, store.load_state(
        record.conversation_id), (), "en", "greet", 0.9))
    with pytest.raises(StateConflict):
        store.complete_turn(CompletedTurn(record.conversation_id, record.message_id, stale,
                                          (OutboundDraft(Reply("should not be stored"), "en"),), "en", None, None))
    texts = [entry.text for entry in store.transcript("library", "u1")]
    assert texts == ["hello"]


def test_locations_and_metadata_are_kept_with_the_message(store: SqlStore) -> None:
    store.record_inbound(message("here", location=Location(35.0, 135.0, "Chuo 1-1"), metadata={"kiosk": "k1"}))
    entry = store.transcript("library", "u1")[0]
    assert entry.payload["location"]["address"] == "Chuo 1-1" and entry.payload["metadata"] == {"kiosk": "k1"}


def test_consent_latest_decision_wins(database_url: str) -> None:
    engine = create_database_engine(database_url)
    upgrade_database(engine)
    consents = ConsentStore(session_factory(engine))
    assert not consents.has("city_hall", "line", "U1", "callback")
    consents.record("city_hall", "line", "U1", "callback", granted=True)
    assert consents.has("city_hall", "line", "U1", "callback")
    consents.record("city_hall", "line", "U1", "callback", granted=False)
    assert not consents.has("city_hall", "line", "U1", "callback")
    engine.dispose()


def test_unfollow_deactivates_and_follow_reactivates(store: SqlStore) -> None:
    assert store.is_active("library", "line", "U1")
    store.set_active("library", "line", "U1", False)
    assert not store.is_active("library", "line", "U1")
    store.set_active("library", "line", "U1", True)
    assert store.is_active("library", "line", "U1")
