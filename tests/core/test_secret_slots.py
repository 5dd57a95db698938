"""A secret slot end to end over HTTP: the chat sends a one-time link, the page takes the card number and PIN,
the effect receives them in clear, and they are nowhere in the database or the log."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select

from bot.app import Components, create_app
from bot.effects import Effect, EffectRequest
from bot.forms import Form, Slot, sealed_id, start_form
from bot.skill_registry import Skill
from bot.storage import models
from bot.turn import Turn
from bot.types import Reply
from tests.fakes import RuleNlu

CARD = "2093847561"
PIN = "4721"


@dataclass
class LoanLookup:
    """A fake ILS: remembers the card number and PIN it was given."""

    kind: str = "test_loans"
    seen: list[tuple[str, str]] = field(default_factory=list)

    def perform(self, request: EffectRequest) -> Sequence[Reply]:
        self.seen.append((request.secrets["card"], request.secrets["pin"]))
        return (Reply(text=request.text("thanks.reply")),)


def submit(turn: Turn, values: dict[str, str]) -> None:
    turn.effects.append(Effect(kind="test_loans", secret=sealed_id(values["card"])))
    turn.say("form.cancelled")


LOGIN = Form(name="test_library_login", slots=(Slot("card", secret=True), Slot("pin", secret=True)), submit=submit)


@pytest.fixture
def wired(database_url: str, build: Callable[..., Components]) -> tuple[Components, LoanLookup]:
    lookup = LoanLookup()
    skill = Skill("test_check_loans", frozenset({"check_loans"}), lambda turn: start_form(turn, LOGIN), forms=(LOGIN,))
    return build(database_url, nlu=RuleNlu().add("my loans", "check_loans"), skills=[skill], effects=[lookup]), lookup


def wait_until_effects_done(components: Components, seconds: float = 20.0) -> None:
    """Perform due effects until none is pending or running (the app's worker may hold one meanwhile)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        components.worker.run_once()
        with components.store.sessions() as session:
            busy = session.scalar(select(models.EffectRecord.id)
                                  .where(models.EffectRecord.status.in_(("pending", "running"))))
        if busy is None:
            return
        time.sleep(0.05)
    raise AssertionError("the effect was not performed in time")


def database_text(components: Components) -> str:
    """Every row of every table as text (a database dump)."""
    metadata = MetaData()
    metadata.reflect(components.database)
    lines = []
    with components.database.connect() as connection:
        for table in metadata.sorted_tables:
            lines.extend(repr(tuple(row)) for row in connection.execute(select(table)))
    return "\n".join(lines)


def test_card_number_and_pin_reach_the_effect_but_never_the_store_or_the_log(
    wired: tuple[Components, LoanLookup], caplog: pytest.LogCaptureFixture
) -> None:
    components, lookup = wired
    sender = "secret-slot-sender-0123456789"
    with caplog.at_level(logging.DEBUG), TestClient(create_app(components.config, components=components)) as client:
        chat = client.post("/api/v1/messages", json={"bot": "library", "sender": sender, "text": "my loans",
                                                     "lang": "en"}).json()
        link = next(link["url"] for reply in chat["replies"] for link in reply.get("links", ()))
        assert link.startswith("/secure/")
        page = client.get(link)
        assert page.status_code == 200 and 'type="password"' in page.text
        assert client.post(link, data={"card": CARD, "pin": PIN}).status_code == 200
        assert client.post(link, data={"card": CARD, "pin": PIN}).status_code == 410  # one use only
        wait_until_effects_done(components)  # the app's own worker may be performing it already
        updates = client.get(f"/api/v1/conversations/library/{sender}/updates").json()["messages"]
    assert lookup.seen == [(CARD, PIN)]
    assert components.catalog.text("thanks.reply", "en") in [m["text"] for m in updates]
    dump = database_text(components)
    assert CARD not in dump and PIN not in dump
    with components.store.sessions() as session:
        # The link is in the chat; the server keeps only a hash of its token (and the link is used up).
        assert session.scalar(select(models.SecretRequest.token_hash)) != link.removeprefix("/secure/")
        assert session.scalar(select(models.SealedSecret.id)) is None  # discarded once the effect ended
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert CARD not in logged and PIN not in logged
