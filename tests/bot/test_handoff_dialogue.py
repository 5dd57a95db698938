"""The bot's side of handoffs: sensitive topics, interpreters, and machine translation of missing KB answers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.app import Components
from bot.storage.models import HandoffRequest, TranslationMemoryEntry
from bot.types import InboundMessage, TurnResult
from tests.fakes import RuleNlu
from tests.shared_fixtures import Clock, set_desk_open
from tests.translations.tiny_argos import build_tiny_package
from translations.argos_packages import install_package, packages_dir_for


def say(components: Components, text: str, language: str | None = None, bot: str = "residents") -> TurnResult:
    return components.engine.handle(InboundMessage(bot=bot, channel="web", sender="resident-0000000000000042",
                                                   text=text, language=language))


def handoffs(components: Components) -> list[tuple[str, str, str]]:
    with components.store.sessions() as session:
        return [(h.kind, h.reason, h.status) for h in session.scalars(select(HandoffRequest))]


def test_a_sensitive_topic_is_answered_and_handed_to_staff(
    build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    rule_nlu.add("unpaid wages", "consultation_labor")
    components = build(nlu=rule_nlu, now=Clock(datetime.now(UTC)))
    components.config.handoff.__dict__["sensitive_topics"] = ("consultation_labor",)
    set_desk_open(components)
    result = say(components, "my boss has unpaid wages", language="en")
    assert result.topic == "consultation_labor"
    assert "labour" in result.replies[0].text.lower() or "labor" in result.replies[0].text.lower()
    assert "foreign residents' support team" in result.replies[-1].text
    assert handoffs(components) == [("staff", "sensitive", "queued")]


def test_asking_for_an_interpreter_queues_an_interpreter_request(
    build: Callable[..., Components], rule_nlu: RuleNlu
) -> None:
    rule_nlu.add("interpreter", "request_interpreter")
    components = build(nlu=rule_nlu, now=Clock(datetime.now(UTC)))
    set_desk_open(components)
    result = say(components, "I need an interpreter", language="en")
    assert "asked for an interpreter" in result.replies[0].text
    assert handoffs(components) == [("interpreter", "asked", "queued")]
    waiting = say(components, "hello")  # waiting for a person: a notice, not the bot's greeting
    assert waiting.topic is None and "number 1 in the queue" in waiting.replies[0].text
    assert handoffs(components) == [("interpreter", "asked", "queued")]


def test_a_kb_answer_missing_in_burmese_is_machine_translated_once(
    build: Callable[..., Components], rule_nlu: RuleNlu, tmp_path: Path
) -> None:
    components = build(nlu=rule_nlu)
    archive = build_tiny_package(tmp_path, "en", "my", words={"hello": "မင်္ဂလာပါ"})
    install_package(archive, packages_dir_for(components.config.data_path))
    first = say(components, "外国人相談", language="my")
    answer = first.replies[-1]
    english = components.knowledge.answer("residents", "multilingual_consultation", "en")
    assert english is not None and english.language == "en"
    assert answer.machine_translated and answer.original == english.text
    assert len(first.replies) == 1  # no "not available in your language" notice: it was translated
    again = say(components, "外国人相談", language="my")
    assert again.replies[-1].text == answer.text
    with components.store.sessions() as session:
        assert (session.scalar(select(func.count()).select_from(TranslationMemoryEntry)) or 0) >= 1
