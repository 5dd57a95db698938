"""The dialogue engine: one turn per inbound message.

store inbound → load state → choose language → understand → form / skill / knowledge
→ replies in the user's language → store outcome. Nothing is kept in memory between
turns, so any number of servers can share a database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date

from bot.desk.resident import CALLBACK_FORM, continue_callback, handoff_turn, request_handoff
from bot.forms import INTERRUPTING_TOPICS, Form, cancel_form, continue_form, reprompt, start_form
from bot.payloads import parse_payload
from bot.protocols import FollowerStore, Store, TopicSearch, Understanding
from bot.skills import Skill
from bot.storage.store import CompletedTurn, DialogueState, InboundRecord, OutboundDraft, StateConflict
from bot.turn import Services, Turn, welcome
from bot.types import InboundMessage, Reply, TranscriptEntry, TurnResult
from nlu.types import OUT_OF_SCOPE, Entity, NluResult
from translations.catalog import Catalog

log = logging.getLogger(__name__)

#: Below this, a candidate is too weak even to be offered as "did you mean ...?".
CLARIFY_FLOOR = 0.2
#: Internal intents that are buttons only, not topics of the contract.
BUTTON_INTENTS = frozenset({"inform", "handoff_declined", "back_to_bot", "rate"})
_MAX_STATE_RETRIES = 3


class DialogueEngine:
    """Handles inbound messages for every bot of a deployment."""

    def __init__(
        self,
        *,
        store: Store,
        followers: FollowerStore,
        nlu: Understanding,
        services: Services,
        skills: Mapping[str, Skill],
        forms: Mapping[str, Form],
        search: TopicSearch | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._store = store
        self._followers = followers
        self._nlu = nlu
        self._services = services
        self._skills = dict(skills)
        self._forms = dict(forms)
        self._today = today
        self._search = search
        self._spaces: dict[str, set[str]] = {
            bot: {topic.id for topic in services.contract.space(cfg.topic_groups)}
            for bot, cfg in services.config.bots.items()
        }

    def replace_knowledge(self, services: Services, nlu: Understanding) -> None:
        """Swap in a reloaded knowledge base and NLU; turns already running finish with the old ones."""
        self._services, self._nlu = services, nlu

    @property
    def catalog(self) -> Catalog:
        """The UI catalog (connectors render their own chrome from it)."""
        return self._services.catalog

    def transcript(self, bot: str, sender: str) -> list[TranscriptEntry]:
        """The stored messages of ``sender`` with ``bot`` (every channel)."""
        return self._store.transcript(bot, sender)

    def updates(self, bot: str, channel: str, sender: str, after: int) -> list[TranscriptEntry]:
        """Messages for ``sender`` written outside a reply (staff, interpreters, notices) after id ``after``."""
        return self._followers.updates(bot, channel, sender, after)

    def handle(self, message: InboundMessage) -> TurnResult:
        """Store, understand and answer ``message``; a redelivered message is not answered twice."""
        return self.process(self.accept(message), message)

    def accept(self, message: InboundMessage) -> InboundRecord:
        """Store ``message`` now (before any processing), so a crash later cannot lose it."""
        return self._store.record_inbound(message)

    def process(self, record: InboundRecord, message: InboundMessage) -> TurnResult:
        """Answer a message stored by :meth:`accept`."""
        if record.duplicate:
            return TurnResult(record.conversation_id, (), message.language or "", None, None, duplicate=True)
        for _attempt in range(_MAX_STATE_RETRIES):
            state = self._store.load_state(record.conversation_id)
            try:
                turn = self._decide(message, state, record.conversation_id)
            except Exception:
                # The resident's text is never logged at INFO or above; the id finds it in the store.
                log.exception("turn failed in conversation %s (message %s)", record.conversation_id, record.message_id)
                self._store.fail_turn(record.message_id, "internal_error")
                language = message.language or state.language or self._services.config.default_language
                apology = Reply(text=self._services.catalog.text("error.apology", language))
                return TurnResult(record.conversation_id, (apology,), language, None, None)
            completed = CompletedTurn(
                conversation_id=record.conversation_id,
                inbound_id=record.message_id,
                state=turn.state,
                outbound=tuple(OutboundDraft(reply, turn.language) for reply in turn.replies),
                language=turn.language,
                topic=turn.topic,
                confidence=turn.understood.confidence,
                handoff=turn.handoff,
                handoff_change=turn.handoff_change,
            )
            try:
                self._store.complete_turn(completed)
            except StateConflict:
                log.info("conversation %s changed concurrently; retrying the turn", record.conversation_id)
                continue
            return TurnResult(
                record.conversation_id, tuple(turn.replies), turn.language, turn.topic, turn.understood.confidence
            )
        raise StateConflict(record.conversation_id)

    def lifecycle(self, bot: str, channel: str, sender: str, event: str, language: str | None) -> tuple[Reply, ...]:
        """A follow (activate, then the welcome to send) or an unfollow (deactivate; nothing to send)."""
        self._followers.set_active(bot, channel, sender, event != "unfollow")
        if event == "unfollow":
            return ()
        return self.greeting(bot, language)

    def is_active(self, bot: str, channel: str, sender: str) -> bool:
        """Whether anything may be pushed to ``sender`` on ``channel``."""
        return self._followers.is_active(bot, channel, sender)

    def greeting(self, bot: str, language: str | None) -> tuple[Reply, ...]:
        """The welcome of ``bot`` in ``language`` (or the default language) with the start menu."""
        config = self._services.config
        return (welcome(self._services, bot, language if language in config.languages else config.default_language),)

    # --- deciding -------------------------------------------------------------------------

    def _decide(self, message: InboundMessage, state: DialogueState, conversation_id: str) -> Turn:
        understood = self._understand(message, state)
        if message.language:
            state.language, state.language_source = message.language, "explicit"
        elif state.language_source != "explicit" and (message.location is None or state.language is None):
            # A shared location carries an address, not the resident's language.
            state.language, state.language_source = understood.language, "detected"
        language = state.language or self._services.config.default_language
        turn = Turn(message, state, language, understood, self._services, self._today(), topic=understood.topic,
                    conversation_id=conversation_id)
        if state.mode == "handoff" and handoff_turn(turn):
            return turn  # a person holds the conversation: the bot stays silent
        if state.active_form == CALLBACK_FORM and understood.topic != "change_language":
            continue_callback(turn)
            return turn

        form = self._forms.get(state.active_form or "")
        if form is not None and continue_form(turn, form):
            return turn
        if form is not None and understood.topic not in INTERRUPTING_TOPICS:
            cancel_form(turn)
        self._dispatch(turn)
        if form is not None and turn.state.active_form == form.name and understood.topic == "change_language":
            reprompt(turn, form)
        elif understood.topic in ("talk_to_staff", "request_interpreter", "goodbye") \
                and turn.state.active_form != CALLBACK_FORM:
            cancel_form(turn)  # a form in progress ends; the out-of-hours form just started stays
        return turn

    def _understand(self, message: InboundMessage, state: DialogueState) -> NluResult:
        payload = parse_payload(message.text)
        if payload is None:
            return self._nlu.parse(
                message.bot, message.text, preferred_language=message.language or state.language, today=self._today()
            )
        # A button: the topic is known for sure; the language stays what it was.
        language = message.language or state.language or self._services.config.default_language
        entities = tuple(Entity(type=k, value=v, text=v, start=0, end=0) for k, v in payload.entities.items())
        known = payload.intent in self._spaces[message.bot] or payload.intent in BUTTON_INTENTS
        return NluResult(
            language=language, language_confidence=1.0, topic=payload.intent if known else OUT_OF_SCOPE,
            confidence=1.0 if known else 0.0, candidates=(), ambiguous=False, entities=entities,
            normalized_text=message.text,
        )

    def _dispatch(self, turn: Turn) -> None:
        understood = turn.understood
        topic = understood.topic
        minimum = self._services.config.dialogue.min_confidence
        confident = topic != OUT_OF_SCOPE and (minimum is None or understood.confidence >= minimum)
        if confident and understood.ambiguous and len(understood.candidates) > 1:
            turn.topic = topic
            self._clarify(turn, [c.topic for c in understood.candidates[:3]])
            return
        if confident and self._answer_topic(turn, topic):
            if topic not in ("talk_to_staff", "request_interpreter"):
                turn.state.misses = 0
            if topic in self._services.config.handoff.sensitive_topics and turn.handoff is None:
                request_handoff(turn, "staff", reason="sensitive")
            return
        if understood.other_bot and understood.other_bot_topic and self._answer_from_other_bot(turn):
            return
        self._miss(turn)

    def _answer_topic(self, turn: Turn, topic: str) -> bool:
        turn.topic = topic
        if topic in self._skills:
            self._skills[topic](turn)
            return True
        if topic in self._forms:
            start_form(turn, self._forms[topic])
            return True
        return self._answer_from_knowledge(turn, turn.bot, topic)

    def _answer_from_knowledge(self, turn: Turn, bot: str, topic: str) -> bool:
        answer = self._services.knowledge.answer(bot, topic, turn.language)
        if answer is None:
            return False
        text, steps, machine_translated, original = answer.text, answer.steps, answer.machine_translated, None
        translator = self._services.translator
        if answer.language != turn.language and translator is not None and turn.language not in ("ja", "ja-x-easy"):
            # No curated text in this language: the translation memory, else an installed MT model.
            translated = translator.translate(answer.text, answer.language, turn.language)
            if translated.available and translated.machine_translated:
                text, original, machine_translated = translated.text, answer.text, True
                steps = tuple(translator.translate(step, answer.language, turn.language).text for step in steps)
        if answer.language != turn.language and not machine_translated and answer.language == "en" \
                and turn.language not in ("ja", "ja-x-easy"):
            turn.say(
                "language.fallback_notice",
                buttons=[turn.button("button.request_interpreter", "/request_interpreter")],
            )
        related = [t for t in answer.related if t in self._spaces[turn.bot]]
        turn.replies.append(Reply(
            text=text,
            buttons=turn.topic_buttons(related),
            links=tuple(turn.link(link.title, link.url) for link in answer.links),
            steps=steps,
            machine_translated=machine_translated,
            original=original,
            source=f"kb:{bot}/{topic}",
        ))
        return True

    def _answer_from_other_bot(self, turn: Turn) -> bool:
        other, topic = turn.understood.other_bot, turn.understood.other_bot_topic
        if other not in self._services.config.bots or topic is None:
            return False
        if self._services.knowledge.answer(other, topic, turn.language) is None:
            return False
        turn.say("fallback.other_bot", bot_name=turn.text(f"bot.{other}.name"))
        self._answer_from_knowledge(turn, other, topic)
        turn.topic = OUT_OF_SCOPE
        turn.state.misses = 0
        return True

    def _clarify(self, turn: Turn, topics: list[str]) -> None:
        turn.say("fallback.clarify", buttons=turn.topic_buttons(topics))

    def _miss(self, turn: Turn) -> None:
        """Not understood: clarify, or after repeated misses offer a member of staff."""
        turn.topic = OUT_OF_SCOPE
        turn.state.misses += 1
        if turn.state.misses >= self._services.config.dialogue.misses_before_staff_offer:
            turn.say("fallback.offer_staff", buttons=[
                turn.button("button.talk_to_staff", "/talk_to_staff"),
                turn.button("button.keep_trying", "/handoff_declined"),
            ])
            return
        candidates = [
            c.topic for c in turn.understood.candidates[:3]
            if c.confidence >= CLARIFY_FLOOR and c.topic in self._spaces[turn.bot] and c.topic != OUT_OF_SCOPE
        ]
        if not candidates and self._search is not None and turn.message.text and not turn.message.text.startswith("/"):
            # The classifier is unsure: search the KB's questions and answers for likely topics.
            hits = self._search.search(turn.bot, turn.message.text, k=3)
            candidates = [topic for topic, _score in hits if topic in self._spaces[turn.bot]]
        if candidates:
            self._clarify(turn, candidates)
        else:
            turn.say("fallback.not_understood", buttons=turn.menu_buttons())
