"""The dialogue engine: one turn per inbound message.

store inbound → (one turn at a time per conversation, :mod:`bot.turn_runner`) load state →
choose language → understand → the bot's handler chain (:mod:`bot.handlers`) → replies in the
user's language → state, replies, handoff and effects committed together → effects performed
after commit (:mod:`bot.effect_worker`). Nothing is kept in memory between turns, so any number
of servers can share a database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from bot.enums import LanguageSource, Lifecycle
from bot.forms import Form
from bot.handlers import ActiveFormHandler, HandoffHandler, TopicHandler, TurnHandler, run_chain
from bot.payloads import parse_payload
from bot.protocols import FollowerStore, Store, TopicSearch, TurnQueue, Understanding
from bot.records import CompletedTurn, DialogueState, InboundRecord, OutboundDraft
from bot.skill_registry import SkillRegistry
from bot.turn import Services, Turn, welcome
from bot.turn_runner import RunnerSettings, TurnRunner
from bot.types import InboundMessage, Reply, TranscriptEntry, TurnResult
from nlu.types import OUT_OF_SCOPE, Entity, NluResult
from translations.catalog import Catalog

log = logging.getLogger(__name__)

#: Internal intents that are buttons only, not topics of the contract.
BUTTON_INTENTS = frozenset({"inform", "handoff_declined", "back_to_bot", "rate", "secret_submitted",
                            "email_notices"})


@dataclass(frozen=True)
class Content:
    """What a reload replaces, swapped as one value so a turn never mixes old and new."""

    services: Services
    nlu: Understanding


class DialogueEngine:
    """Handles inbound messages for every bot of a deployment."""

    def __init__(
        self,
        *,
        store: Store,
        followers: FollowerStore,
        queue: TurnQueue,
        nlu: Understanding,
        services: Services,
        skills: SkillRegistry,
        forms: Mapping[str, Form],
        search: TopicSearch | None = None,
        today: Callable[[], date] = date.today,
        runner: RunnerSettings | None = None,
        committed: Callable[[CompletedTurn], None] | None = None,
    ) -> None:
        self._store = store
        self._followers = followers
        self._content = Content(services, nlu)
        self._skills = skills
        self._forms = dict(forms)
        self._today = today
        self._search = search
        self._spaces: dict[str, frozenset[str]] = {}
        self._chain: tuple[TurnHandler, ...] = ()
        self._build_chain(services)
        self._runner = TurnRunner(store, queue, self.decide, self._apology, settings=runner, committed=committed)

    def _build_chain(self, services: Services) -> None:
        self._spaces = {
            bot: frozenset(topic.id for topic in services.contract.space(cfg.topic_groups))
            for bot, cfg in services.config.bots.items()
        }
        topics = TopicHandler(self._skills, self._forms, self._spaces, self._search)
        form = ActiveFormHandler(self._forms, topics)
        self._chain = (HandoffHandler((form, topics)), form, topics)

    def replace_knowledge(self, services: Services, nlu: Understanding) -> None:
        """Swap in a reloaded knowledge base and NLU at once; turns already running finish with the old ones."""
        self._build_chain(services)
        self._content = Content(services, nlu)

    @property
    def services(self) -> Services:
        """What skills use now (the catalog, KB and profile of the latest reload)."""
        return self._content.services

    @property
    def catalog(self) -> Catalog:
        """The UI catalog (connectors render their own chrome from it)."""
        return self._content.services.catalog

    @property
    def runner(self) -> TurnRunner:
        """The turn runner (its recovery sweep is run by the app)."""
        return self._runner

    def transcript(self, bot: str, sender: str) -> list[TranscriptEntry]:
        """The stored messages of ``sender`` with ``bot`` (every channel)."""
        return self._store.transcript(bot, sender)

    def updates(self, bot: str, channel: str, sender: str, after: int) -> list[TranscriptEntry]:
        """Messages for ``sender`` written outside a reply (staff, interpreters, notices) after id ``after``."""
        return self._followers.updates(bot, channel, sender, after)

    def handle(self, message: InboundMessage) -> TurnResult:
        """Store, understand and answer ``message``; a redelivered message gets its stored answer."""
        return self.process(self.accept(message), message)

    def accept(self, message: InboundMessage) -> InboundRecord:
        """Store ``message`` now (before any processing), so a crash later cannot lose it."""
        return self._store.record_inbound(message)

    def process(self, record: InboundRecord, message: InboundMessage) -> TurnResult:
        """The answer to a message stored by :meth:`accept` (for a resend: the stored answer of that message)."""
        return self._runner.process(record.conversation_id, record.message_id, duplicate=record.duplicate)

    def lifecycle(self, bot: str, channel: str, sender: str, event: Lifecycle | str,
                  language: str | None) -> tuple[Reply, ...]:
        """A follow (activate, then the welcome to send) or an unfollow (deactivate; nothing to send)."""
        event = Lifecycle(event)
        self._followers.set_active(bot, channel, sender, event == Lifecycle.FOLLOW)
        if event == Lifecycle.UNFOLLOW:
            return ()
        return self.greeting(bot, language)

    def is_active(self, bot: str, channel: str, sender: str) -> bool:
        """Whether anything may be pushed to ``sender`` on ``channel``."""
        return self._followers.is_active(bot, channel, sender)

    def greeting(self, bot: str, language: str | None) -> tuple[Reply, ...]:
        """The welcome of ``bot`` in ``language`` (or the default language) with the start menu."""
        services = self._content.services
        config = services.config
        return (welcome(services, bot, language if language in config.languages else config.default_language),)

    def _apology(self, message: InboundMessage, state_language: str | None) -> OutboundDraft:
        services = self._content.services
        language = message.language or state_language or services.config.default_language
        return OutboundDraft(Reply(text=services.catalog.text("error.apology", language)), language)

    # --- deciding -------------------------------------------------------------------------

    def decide(self, message: InboundMessage, state: DialogueState, conversation_id: str) -> CompletedTurn:
        """One pure turn: what to reply and store; nothing outside the returned value is changed."""
        content = self._content
        understood = self._understand(content, message, state)
        if message.language:
            state.language, state.language_source = message.language, LanguageSource.EXPLICIT
        elif state.language_source != LanguageSource.EXPLICIT and (message.location is None or state.language is None):
            # A shared location carries an address, not the resident's language.
            state.language, state.language_source = understood.language, LanguageSource.DETECTED
        language = state.language or content.services.config.default_language
        turn = Turn(message, state, language, understood, content.services, self._today(), topic=understood.topic,
                    conversation_id=conversation_id)
        run_chain(self._chain, turn)
        return CompletedTurn(
            conversation_id=conversation_id, inbound_id=0, state=turn.state,
            outbound=tuple(OutboundDraft(reply, turn.language) for reply in turn.replies),
            language=turn.language, topic=turn.topic, confidence=turn.understood.confidence,
            handoff=turn.handoff, handoff_change=turn.handoff_change, effects=tuple(turn.effects),
            secret_request=turn.secret_request,
        )

    def _understand(self, content: Content, message: InboundMessage, state: DialogueState) -> NluResult:
        payload = parse_payload(message.text)
        if payload is None:
            return content.nlu.parse(
                message.bot, message.text, preferred_language=message.language or state.language, today=self._today()
            )
        # A button: the topic is known for sure; the language stays what it was.
        language = message.language or state.language or content.services.config.default_language
        entities = tuple(Entity(type=k, value=v, text=v, start=0, end=0) for k, v in payload.entities.items())
        known = payload.intent in self._spaces[message.bot] or payload.intent in BUTTON_INTENTS
        return NluResult(
            language=language, language_confidence=1.0, topic=payload.intent if known else OUT_OF_SCOPE,
            confidence=1.0 if known else 0.0, candidates=(), ambiguous=False, entities=entities,
            normalized_text=message.text,
        )
