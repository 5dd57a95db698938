"""Effects are performed once, after the turn committed, and their results come back to the resident."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from bot.app import Components
from bot.effects import Effect, EffectFailed, EffectRequest
from bot.records import StateConflict
from bot.skill_registry import topic_skill
from bot.storage import models
from bot.turn import Turn
from bot.types import InboundMessage, Reply
from tests.fakes import RuleNlu


@dataclass
class RecordingHandler:
    """A fake integration: counts calls, fails the first ``failures`` times."""

    kind: str = "renew"
    failures: int = 0
    refuse: bool = False
    calls: list[str] = field(default_factory=list)

    def perform(self, request: EffectRequest) -> Sequence[Reply]:
        self.calls.append(request.idempotency_key)
        if self.refuse:
            raise EffectFailed("error.apology")
        if len(self.calls) <= self.failures:
            raise ConnectionError("the integration is down")
        return (Reply(text=request.text("thanks.reply") + f" [{request.params['item']}]"),)


def renew(turn: Turn) -> None:
    turn.effects.append(Effect(kind="renew", params={"item": "book-42"}))
    turn.say("form.cancelled")


def message(text: str = "renew it", client_id: str = "client-renew-01") -> InboundMessage:
    return InboundMessage(bot="library", channel="web", sender="effect-sender-001", text=text, language="en",
                          external_id=client_id)


def follow_ups(components: Components) -> list[str]:
    with components.store.sessions() as session:
        return list(session.scalars(select(models.Message.text).where(models.Message.out_of_turn.is_(True))
                                    .order_by(models.Message.id)))


@pytest.fixture
def wired(database_url: str, build: Callable[..., Components]) -> Callable[[RecordingHandler], Components]:
    def make(handler: RecordingHandler) -> Components:
        return build(database_url, nlu=RuleNlu().add("renew", "renew_loan"),
                     skills=[topic_skill("renew_loan", renew)], effects=[handler])

    return make


def test_an_effect_whose_turn_is_retried_is_performed_once(
    wired: Callable[[RecordingHandler], Components], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = RecordingHandler()
    components = wired(handler)
    real_complete = components.store.complete_turn
    conflicts = iter([True, True])

    def complete_with_two_lost_races(turn: object) -> None:
        if next(conflicts, False):
            raise StateConflict("another server won")
        real_complete(turn)  # type: ignore[arg-type]

    monkeypatch.setattr(components.store, "complete_turn", complete_with_two_lost_races)
    result = components.engine.handle(message())
    assert result.topic == "renew_loan"
    assert components.worker.run_once() == 1
    assert components.worker.run_once() == 0
    assert len(handler.calls) == 1
    texts = follow_ups(components)
    assert len(texts) == 1 and texts[0].endswith("[book-42]")


def test_a_failing_integration_is_retried_then_the_result_arrives_once(
    wired: Callable[[RecordingHandler], Components], monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = RecordingHandler(failures=1)
    components = wired(handler)
    components.engine.handle(message())
    assert components.worker.run_once() == 0  # failed: back off
    with components.store.sessions() as session:
        session.execute(models.EffectRecord.__table__.update().values(next_attempt_at=models.utcnow()))
        session.commit()
    assert components.worker.run_once() == 1
    assert len(handler.calls) == 2 and handler.calls[0] == handler.calls[1]  # the same idempotency key
    assert len([t for t in follow_ups(components) if t.endswith("[book-42]")]) == 1


def test_a_refused_effect_apologises_in_the_residents_language(
    wired: Callable[[RecordingHandler], Components]
) -> None:
    components = wired(RecordingHandler(refuse=True))
    components.engine.handle(message())
    components.worker.run_once()
    assert follow_ups(components) == [components.catalog.text("error.apology", "en")]
    with components.store.sessions() as session:
        assert session.scalar(select(models.EffectRecord.status)) == "failed"
