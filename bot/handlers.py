"""The handler chain: each message goes to the first handler that takes it.

A bot's chain is ``handoff`` (a person holds the conversation) → ``active_form`` (an answer to
the question a form asked) → ``topics`` (skills, forms, the knowledge base, another bot, the
fallback). Skills are registered (see :mod:`bot.skill_registry`), never named here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from bot.desk.resident import handoff_turn, request_handoff
from bot.enums import ConversationMode, HandoffKind, HandoffReason
from bot.forms import Form, handle_active_form, start_form
from bot.knowledge_answers import answer_from_knowledge, answer_from_other_bot
from bot.protocols import TopicSearch
from bot.skill_registry import SkillRegistry
from bot.turn import Turn
from nlu.types import OUT_OF_SCOPE

#: Below this, a candidate is too weak even to be offered as "did you mean ...?".
CLARIFY_FLOOR = 0.2
#: Asking for a person does not count as having been understood (the miss counter stays).
_HANDOFF_TOPICS = frozenset({"talk_to_staff", "request_interpreter"})


class TurnHandler(Protocol):
    """One link of the chain."""

    name: str

    def handles(self, turn: Turn) -> bool:
        """Whether this handler takes the turn."""
        ...

    def handle(self, turn: Turn) -> None:
        """Add replies, state changes and effects to the turn."""
        ...


class HandoffHandler:
    """While a person holds (or is about to hold) the conversation the bot stays silent but for notices."""

    name = "handoff"

    def __init__(self, rest: Sequence[TurnHandler]) -> None:
        """``rest``: the chain that answers when the handoff turns out to have ended."""
        self._rest = tuple(rest)

    def handles(self, turn: Turn) -> bool:
        """A conversation in handoff mode."""
        return turn.state.mode == ConversationMode.HANDOFF

    def handle(self, turn: Turn) -> None:
        """Notices only (queue position, "back to the guide"); a handoff that ended gives the turn back to the bot."""
        if not handoff_turn(turn):
            run_chain(self._rest, turn)


class ActiveFormHandler:
    """An answer to the question an unfinished form asked."""

    name = "active_form"

    def __init__(self, forms: Mapping[str, Form], topics: TopicHandler) -> None:
        self._forms = forms
        self._topics = topics

    def handles(self, turn: Turn) -> bool:
        """A form is waiting for a slot."""
        return turn.state.active_form in self._forms

    def handle(self, turn: Turn) -> None:
        """Fill the slot, or let the message interrupt or end the form."""
        handle_active_form(turn, self._forms[str(turn.state.active_form)], self._topics.handle)


class TopicHandler:
    """The understood topic: a registered skill, a form, a curated answer, another bot's answer, or a miss."""

    name = "topics"

    def __init__(self, skills: SkillRegistry, forms: Mapping[str, Form], spaces: Mapping[str, frozenset[str]],
                 search: TopicSearch | None = None) -> None:
        self._skills = skills
        self._forms = forms
        self._spaces = spaces
        self._search = search

    def handles(self, turn: Turn) -> bool:
        """Always: the end of the chain."""
        return True

    def handle(self, turn: Turn) -> None:
        """Answer the topic, clarify, or count a miss."""
        understood = turn.understood
        topic = understood.topic
        minimum = turn.services.config.dialogue.min_confidence
        confident = topic != OUT_OF_SCOPE and (minimum is None or understood.confidence >= minimum)
        if confident and understood.ambiguous and len(understood.candidates) > 1:
            turn.topic = topic
            turn.say("fallback.clarify", buttons=turn.topic_buttons([c.topic for c in understood.candidates[:3]]))
            return
        if confident and self._answer(turn, topic):
            if topic not in _HANDOFF_TOPICS:
                turn.state.misses = 0
            if topic in turn.services.config.handoff.sensitive_topics and turn.handoff is None:
                request_handoff(turn, HandoffKind.STAFF, reason=HandoffReason.SENSITIVE)
            return
        if understood.other_bot and understood.other_bot_topic and answer_from_other_bot(turn, self._spaces[turn.bot]):
            return
        self._miss(turn)

    def _answer(self, turn: Turn, topic: str) -> bool:
        turn.topic = topic
        skill = self._skills.for_turn(turn)
        if skill is not None:
            skill.handle(turn)
            return True
        if topic in self._forms:
            start_form(turn, self._forms[topic])
            return True
        return answer_from_knowledge(turn, turn.bot, topic, self._spaces[turn.bot])

    def _miss(self, turn: Turn) -> None:
        """Not understood: clarify, or after repeated misses offer a member of staff."""
        turn.topic = OUT_OF_SCOPE
        turn.state.misses += 1
        if turn.state.misses >= turn.services.config.dialogue.misses_before_staff_offer:
            turn.say("fallback.offer_staff", buttons=[
                turn.button("button.talk_to_staff", "/talk_to_staff"),
                turn.button("button.keep_trying", "/handoff_declined"),
            ])
            return
        space = self._spaces[turn.bot]
        candidates = [
            c.topic for c in turn.understood.candidates[:3]
            if c.confidence >= CLARIFY_FLOOR and c.topic in space and c.topic != OUT_OF_SCOPE
        ]
        text = turn.message.text
        if not candidates and self._search is not None and text and not text.startswith("/"):
            # The classifier is unsure: search the KB's questions and answers for likely topics.
            candidates = [topic for topic, _score in self._search.search(turn.bot, text, k=3) if topic in space]
        if candidates:
            turn.say("fallback.clarify", buttons=turn.topic_buttons(candidates))
        else:
            turn.say("fallback.not_understood", buttons=turn.menu_buttons())


def run_chain(chain: Sequence[TurnHandler], turn: Turn) -> None:
    """Give the turn to the first handler that takes it."""
    for handler in chain:
        if handler.handles(turn):
            handler.handle(turn)
            return
