"""The test channel: talk to the engine as a resident would, without HTTP or a database (errbot-style).

::

    def test_garbage_day(conversations):
        bot = conversations()                      # shipped KB, catalogs and contract; memory stores
        talk = bot.conversation("city_hall")
        talk.say("ごみの日を知りたい")
        talk.press("北地区")                         # a button, by title or payload
        assert "火" in talk.texts[0]

:func:`conversation_engine` builds a :class:`ConversationEngine`: the real
:class:`~bot.engine.DialogueEngine` with the built-in skills and forms (plus the test's own),
on a :class:`~bot.fakes.MemoryStore` and :class:`~bot.fakes.MemoryTurnQueue`, the standard
:class:`~bot.fakes.RuleNlu`, the real staff desk and effect worker on memory stores, and one
settable clock (:data:`DESK_OPEN` by default). A :class:`Conversation` is one resident on one
channel: :meth:`~Conversation.say` and :meth:`~Conversation.press` run turns,
:meth:`~Conversation.notices` fetches what arrived outside a turn (staff, effect results).
``Conversation`` also works on any other ``DialogueEngine`` (e.g. one on the SQL store).

The fixtures ``conversations`` (the factory) and ``conversation`` (a resident of ``city_hall``)
are registered for every test by ``tests/shared_fixtures.py``. This module needs pytest (a dev
dependency) and is imported only by tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import AppConfig, load_config
from bot.desk.resident import ResidentDesk
from bot.effect_worker import EffectWorker
from bot.effects import Effect, EffectHandler, EffectRegistry
from bot.engine import DialogueEngine
from bot.fakes import (
    Clock,
    MemoryDeskStore,
    MemoryEffectStore,
    MemorySecureForms,
    MemoryStaffDesk,
    MemoryStore,
    MemoryTurnQueue,
    MemoryVault,
    RuleNlu,
)
from bot.forms import Form, default_forms
from bot.protocols import KnowledgeBase, TopicSearch, Understanding
from bot.records import CompletedTurn
from bot.skill_registry import Skill, SkillRegistry
from bot.skills import builtin_skills
from bot.topics import TopicContract
from bot.turn import Services
from bot.turn_runner import RunnerSettings
from bot.types import Button, InboundMessage, Location, Reply, TranscriptEntry, TurnResult
from knowledge.base import CuratedKnowledgeBase
from nlu.types import Entity
from translations.catalog import Catalog

TOKYO = ZoneInfo("Asia/Tokyo")
#: A Tuesday morning in Japan: every demo desk is open (the default clock).
DESK_OPEN = datetime(2026, 11, 24, 10, 0, tzinfo=TOKYO)
#: A Sunday night: every demo desk is closed ("talk to staff" starts the out-of-hours form).
DESK_CLOSED = datetime(2026, 11, 22, 23, 0, tzinfo=TOKYO)

#: The standard NLU's rules: text (substring, case-insensitive) → topic (as the ``rule_nlu`` fixture).
STANDARD_RULES: tuple[tuple[str, str], ...] = (
    ("こんにちは", "greet"), ("hello", "greet"), ("住民票", "resident_certificate"),
    ("juminhyo", "resident_certificate"), ("ごみの日", "garbage_collection_day"),
    ("garbage day", "garbage_collection_day"), ("最初から", "restart"), ("start over", "restart"),
    ("in english", "change_language"), ("英語で", "change_language"), ("staff", "talk_to_staff"),
    ("職員", "talk_to_staff"), ("開館時間", "library_hours"), ("opening hours", "library_hours"),
    ("外国人相談", "multilingual_consultation"), ("consultation desk", "multilingual_consultation"),
)
#: The standard NLU's entities: text → entities found in it.
STANDARD_ENTITIES: Mapping[str, tuple[Entity, ...]] = {
    "in english": (Entity("language", "en", "English", 3, 10),),
    "英語で": (Entity("language", "en", "英語", 0, 2),),
    "北地区": (Entity("district", "kita", "北地区", 0, 3),),
    "kita": (Entity("district", "kita", "kita", 0, 4),),
}


def standard_nlu(rules: Iterable[tuple[str, str]] = ()) -> RuleNlu:
    """A :class:`RuleNlu` with the test's ``rules`` (matched first) and then :data:`STANDARD_RULES`."""
    nlu = RuleNlu()
    for needle, topic in (*rules, *STANDARD_RULES):
        nlu.add(needle, topic)
    nlu.entities.update({needle: list(found) for needle, found in STANDARD_ENTITIES.items()})
    return nlu


@lru_cache(maxsize=1)
def shipped_content() -> tuple[CuratedKnowledgeBase, Catalog, TopicContract]:
    """The KB, catalogs and topic contract as shipped, read once per process (never modified)."""
    return CuratedKnowledgeBase.load(), Catalog.load(), TopicContract.load()


class ConversationEngine(DialogueEngine):
    """A :class:`DialogueEngine` on memory stores, with the parts tests reach for.

    ``store`` holds everything stored; ``desk`` is the staff console's desk (``desk.member()``
    gives an account to act as); ``worker`` performs effects (:meth:`run_effects`); ``committed_turns``
    lists every turn as committed. ``clock`` is the one clock of the stores, the desk hours and the
    turns' ``today`` (in Japan); it stands still until a test moves it (``clock.advance(minutes=5)``),
    so leases, effect retries and the recovery sweep happen exactly when a test says.
    """

    def __init__(self, *, config: AppConfig, content: tuple[CuratedKnowledgeBase, Catalog, TopicContract],
                 nlu: Understanding, skills: Sequence[Skill], forms: Mapping[str, Form],
                 effects: Sequence[EffectHandler], search: TopicSearch | None, knowledge: KnowledgeBase | None,
                 clock: Clock, desk: bool, runner: RunnerSettings) -> None:
        shipped_kb, catalog, contract = content
        self.clock = clock
        self.store = MemoryStore(now=clock)
        self.queue = MemoryTurnQueue(self.store)
        self.nlu = nlu
        self.committed_turns: list[CompletedTurn] = []
        resident_desk = ResidentDesk(MemoryDeskStore(self.store), shipped_kb.profile, config.handoff, now=clock)
        services = Services(config=config, catalog=catalog, knowledge=knowledge or shipped_kb,
                            profile=shipped_kb.profile, contract=contract, desk=resident_desk if desk else None)
        registry = SkillRegistry([*skills, *builtin_skills()],
                                 enabled={bot: cfg.skills for bot, cfg in config.bots.items()})
        super().__init__(store=self.store, followers=self.store, queue=self.queue, nlu=nlu, services=services,
                         skills=registry, forms={**default_forms(), **forms}, search=search,
                         today=lambda: clock().astimezone(TOKYO).date(), runner=runner,
                         committed=self.committed_turns.append)
        self.vault = MemoryVault(self.store)
        self.desk = MemoryStaffDesk.over(self.store, catalog, config.languages, now=clock)
        self.secure_forms = MemorySecureForms(self.store, self, lambda: self.catalog, vault=self.vault)
        self.worker = EffectWorker(MemoryEffectStore(self.store), EffectRegistry(list(effects)), lambda: self.catalog,
                                   secrets=self.vault)

    def conversation(self, bot: str = "city_hall", sender: str | None = None, channel: str = "test",
                     language: str | None = None) -> Conversation:
        """A resident (a new one unless ``sender`` is given) writing to ``bot`` on ``channel``."""
        return Conversation(self, bot=bot, sender=sender, channel=channel, language=language)

    def run_effects(self) -> int:
        """Perform the effects due now, as the embedded worker does after a commit; returns how many finished.

        A failed attempt is retried after a backoff: advance ``clock`` past it before running again.
        """
        return self.worker.run_once()

    def effects(self, conversation_id: str | None = None) -> list[Effect]:
        """The effects committed so far (of one conversation), in order: each once, however often a turn ran."""
        return [effect for turn in self.committed_turns if conversation_id in (None, turn.conversation_id)
                for effect in turn.effects]


def conversation_engine(
    *, nlu: Understanding | None = None, rules: Iterable[tuple[str, str]] = (), skills: Sequence[Skill] = (),
    forms: Mapping[str, Form] | None = None, effects: Sequence[EffectHandler] = (), search: TopicSearch | None = None,
    knowledge: KnowledgeBase | None = None, config: AppConfig | None = None, now: datetime = DESK_OPEN,
    desk: bool = True, runner: RunnerSettings | None = None,
) -> ConversationEngine:
    """A whole engine on memory stores with the shipped KB, catalogs, contract and ``config.yml``.

    ``nlu`` replaces :func:`standard_nlu` (``rules`` are added to the standard one only);
    ``skills``, ``forms`` and ``effects`` are registered before the built-in ones (plugins are not
    loaded); ``knowledge`` replaces the shipped KB (the city profile stays); ``now`` sets the clock;
    ``desk=False`` runs without a staff desk (talk to staff always queues).
    """
    return ConversationEngine(
        config=config or load_config(environ={}), content=shipped_content(), nlu=nlu or standard_nlu(rules),
        skills=skills, forms=forms or {}, effects=effects, search=search, knowledge=knowledge, clock=Clock(now),
        desk=desk, runner=runner or RunnerSettings(wait_seconds=5.0, poll_seconds=0.01),
    )


class Conversation:
    """One resident talking to one bot on one channel; each :meth:`say` is one turn of the real engine."""

    def __init__(self, engine: DialogueEngine, bot: str = "city_hall", sender: str | None = None,
                 channel: str = "test", language: str | None = None) -> None:
        """``language``: the explicit choice sent with every message (as the widget's picker), or None."""
        self.engine = engine
        self.bot = bot
        self.sender = sender or f"test-resident-{uuid.uuid4().hex[:16]}"
        self.channel = channel
        self.chosen_language = language
        self.results: list[TurnResult] = []
        self.conversation_id: str | None = None
        self._seen = 0
        self._notices: list[Reply] = []

    # --- talking --------------------------------------------------------------------------

    def say(self, text: str, *, language: str | None = None, external_id: str | None = None,
            metadata: Mapping[str, Any] | None = None, location: Location | None = None) -> list[Reply]:
        """Send ``text``; returns the turn's replies (also in :attr:`replies`)."""
        message = InboundMessage(bot=self.bot, channel=self.channel, sender=self.sender, text=text,
                                 language=language or self.chosen_language, external_id=external_id,
                                 location=location, metadata=dict(metadata or {}))
        result = self.engine.handle(message)
        self.results.append(result)
        self.conversation_id = result.conversation_id
        return list(result.replies)

    def press(self, button: str) -> list[Reply]:
        """Press a button of the last replies (or of the last notices) by its title or payload."""
        offered = [b for reply in [*self.replies, *self._notices] for b in _buttons(reply)]
        for candidate in offered:
            if button in (candidate.title, candidate.payload):
                return self.say(candidate.payload)
        raise LookupError(f"no button {button!r}; offered: {[(b.title, b.payload) for b in offered]}")

    def follow(self) -> list[Reply]:
        """The resident follows the bot (a LINE follow): the welcome."""
        return list(self.engine.lifecycle(self.bot, self.channel, self.sender, "follow", self.chosen_language))

    def unfollow(self) -> None:
        """The resident blocks or leaves: nothing may be pushed to them any more."""
        self.engine.lifecycle(self.bot, self.channel, self.sender, "unfollow", self.chosen_language)

    def notices(self) -> list[Reply]:
        """Messages written outside a turn since the last call (staff, desk notices, effect results)."""
        entries = self.engine.updates(self.bot, self.channel, self.sender, self._seen)
        if entries:
            self._seen = entries[-1].id
        self._notices = [Reply.from_dict(entry.payload) for entry in entries]
        return list(self._notices)

    # --- what the resident saw ------------------------------------------------------------

    @property
    def result(self) -> TurnResult:
        """The last turn's result."""
        if not self.results:
            raise AssertionError("nothing was said in this conversation yet")
        return self.results[-1]

    @property
    def replies(self) -> list[Reply]:
        """The last turn's replies ([] before the first turn)."""
        return list(self.results[-1].replies) if self.results else []

    @property
    def texts(self) -> list[str]:
        """The texts of the last turn's replies."""
        return [reply.text for reply in self.replies]

    @property
    def buttons(self) -> list[Button]:
        """The buttons of the last turn's replies."""
        return [button for reply in self.replies for button in _buttons(reply)]

    @property
    def topic(self) -> str | None:
        """The topic the last turn reported."""
        return self.result.topic

    @property
    def language(self) -> str:
        """The language the last turn answered in."""
        return self.result.language

    @property
    def transcript(self) -> list[TranscriptEntry]:
        """Everything stored for this resident with this bot (every channel), oldest first."""
        return self.engine.transcript(self.bot, self.sender)

    @property
    def effects(self) -> list[Effect]:
        """The effects this conversation's turns committed (needs a :class:`ConversationEngine`)."""
        if not isinstance(self.engine, ConversationEngine):
            raise TypeError("effects are recorded by a ConversationEngine (see conversation_engine)")
        return self.engine.effects(self.conversation_id) if self.conversation_id else []

    def run_effects(self) -> int:
        """Perform the effects due now (needs a :class:`ConversationEngine`); then see :meth:`notices`."""
        if not isinstance(self.engine, ConversationEngine):
            raise TypeError("effects are performed by a ConversationEngine (see conversation_engine)")
        return self.engine.run_effects()

    def __str__(self) -> str:
        """The transcript as a chat log (handy in assertion messages)."""
        return "\n".join(f"{entry.role}: {entry.text}" for entry in self.transcript)


def _buttons(reply: Reply) -> list[Button]:
    return [*reply.buttons, *(button for card in reply.cards for button in card.buttons)]


@pytest.fixture
def conversations() -> Callable[..., ConversationEngine]:
    """The factory :func:`conversation_engine`: ``conversations(skills=[...], now=DESK_CLOSED)``."""
    return conversation_engine


@pytest.fixture
def conversation(conversations: Callable[..., ConversationEngine]) -> Conversation:
    """A new resident writing to ``city_hall`` on a fresh engine (standard rule NLU, desk open)."""
    return conversations().conversation()
