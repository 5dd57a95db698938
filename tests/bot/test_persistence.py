"""Conversations survive a restart, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from bot.app import Components
from bot.storage.database import current_revision, head_revision
from bot.types import InboundMessage
from tests.fakes import RuleNlu


def test_a_form_in_progress_survives_a_server_restart(
    database_url: str, build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    before = build(database_url, nlu=rule_nlu)
    asked = before.engine.handle(InboundMessage("city_hall", "web", "u1", "ごみの日"))
    assert asked.topic == "garbage_collection_day"
    before.database.dispose()

    after = build(database_url, nlu=rule_nlu)  # a new process: nothing in memory
    answered = after.engine.handle(InboundMessage("city_hall", "web", "u1", '/inform{"district":"minami"}'))
    assert after.knowledge.profile.value("districts.minami.plastic", "ja") in answered.replies[0].text
    transcript = after.engine.transcript("city_hall", "u1")
    assert [(e.direction, e.status) for e in transcript] == [
        ("in", "processed"), ("out", "pending"), ("in", "processed"), ("out", "pending")
    ]
    assert transcript[0].text == "ごみの日" and transcript[0].topic == "garbage_collection_day"
    assert current_revision(after.database) == head_revision() and head_revision() >= "0007"


def test_language_preference_is_stored_per_conversation(
    database_url: str, build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    components = build(database_url, nlu=rule_nlu)
    components.engine.handle(InboundMessage("city_hall", "web", "u1", "hello", language="pt"))
    other = components.engine.handle(InboundMessage("city_hall", "web", "u2", "hello there"))
    again = components.engine.handle(InboundMessage("city_hall", "web", "u1", "hello there"))
    assert (other.language, again.language) == ("en", "pt")
