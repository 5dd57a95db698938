"""Nothing acknowledged is left unanswered: a burst from one sender, answered once each, in order."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from bot.app import Components
from bot.skill_registry import topic_skill
from bot.storage import models
from bot.turn import Turn
from bot.types import InboundMessage, Reply, TurnResult
from tests.fakes import RuleNlu


def echo(turn: Turn) -> None:
    """Replies with what the resident wrote (a test skill: tells which message a reply belongs to)."""
    turn.replies.append(Reply(text=f"echo: {turn.message.text}"))


def test_sixteen_parallel_messages_from_one_sender_are_each_answered_once_in_order(
    database_url: str, build: Callable[..., Components]
) -> None:
    components = build(database_url, nlu=RuleNlu().add("count", "echo"), skills=[topic_skill("echo", echo)])
    results: dict[int, TurnResult] = {}
    start = threading.Barrier(16)

    def send(number: int) -> None:
        start.wait()
        message = InboundMessage(bot="city_hall", channel="web", sender="burst-sender-0001",
                                 text=f"count {number}", external_id=f"client-msg-{number:04d}")
        results[number] = components.engine.handle(message)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    # Every sender got the answer to its own message.
    assert sorted(results) == list(range(16))
    for number, result in results.items():
        assert [reply.text for reply in result.replies] == [f"echo: count {number}"]
    # Stored: 16 processed messages, each with exactly one reply, answered in the order they were stored.
    with components.store.sessions() as session:
        inbound = session.scalars(select(models.Message).where(models.Message.direction == "in")
                                  .order_by(models.Message.id)).all()
        replies = session.scalars(select(models.Message).where(models.Message.direction == "out")
                                  .order_by(models.Message.id)).all()
    assert [m.status for m in inbound] == ["processed"] * 16
    assert [r.reply_to for r in replies] == [m.id for m in inbound]
    assert [r.text for r in replies] == [f"echo: {m.text}" for m in inbound]


def test_a_resend_gets_the_reply_of_that_very_message(database_url: str, build: Callable[..., Components]) -> None:
    components = build(database_url, nlu=RuleNlu().add("count", "echo"), skills=[topic_skill("echo", echo)])

    def send(text: str, client_id: str) -> TurnResult:
        return components.engine.handle(InboundMessage(bot="city_hall", channel="web", sender="resend-sender-01",
                                                       text=text, external_id=client_id))

    send("count 1", "client-aaaa-0001")
    send("count 2", "client-aaaa-0002")
    again = send("count 1", "client-aaaa-0001")
    assert again.duplicate
    assert [reply.text for reply in again.replies] == ["echo: count 1"]
    with components.store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(models.Message)) == 4  # nothing answered twice


def test_a_crashing_turn_is_answered_with_a_stored_apology(
    database_url: str, build: Callable[..., Components]
) -> None:
    def crash(_turn: Turn) -> None:
        raise RuntimeError("boom")

    components = build(database_url, nlu=RuleNlu().add("crash", "echo"), skills=[topic_skill("echo", crash)])
    message = InboundMessage(bot="city_hall", channel="web", sender="crash-sender-001", text="crash please",
                             language="en", external_id="client-crash-01")
    first = components.engine.handle(message)
    assert "Sorry" in first.replies[0].text
    resend = components.engine.handle(message)
    assert resend.duplicate and [r.text for r in resend.replies] == [r.text for r in first.replies]
    with components.store.sessions() as session:
        inbound = session.scalars(select(models.Message).where(models.Message.direction == "in")).one()
        assert inbound.status == "failed"
