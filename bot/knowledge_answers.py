"""Curated answers: the knowledge base's entry for a topic, machine translated only where none is curated."""

from __future__ import annotations

from collections.abc import Collection

from bot.turn import Turn
from bot.types import Reply
from nlu.types import OUT_OF_SCOPE

#: Readers of these get the curated Japanese text, never a machine translation of it.
_JAPANESE = ("ja", "ja-x-easy")


def answer_from_knowledge(turn: Turn, bot: str, topic: str, space: Collection[str]) -> bool:
    """Add ``bot``'s curated answer on ``topic`` to the turn; False when the KB has none."""
    services = turn.services
    answer = services.knowledge.answer(bot, topic, turn.language)
    if answer is None:
        return False
    text, steps, machine_translated, original = answer.text, answer.steps, answer.machine_translated, None
    translator = services.translator
    if answer.language != turn.language and translator is not None and turn.language not in _JAPANESE:
        # No curated text in this language: the translation memory, else an installed MT model.
        translated = translator.translate(answer.text, answer.language, turn.language)
        if translated.available and translated.machine_translated:
            text, original, machine_translated = translated.text, answer.text, True
            steps = tuple(translator.translate(step, answer.language, turn.language).text for step in steps)
    if answer.language != turn.language and not machine_translated and answer.language == "en" \
            and turn.language not in _JAPANESE:
        turn.say("language.fallback_notice",
                 buttons=[turn.button("button.request_interpreter", "/request_interpreter")])
    related = [t for t in answer.related if t in space]
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


def answer_from_other_bot(turn: Turn, space: Collection[str]) -> bool:
    """Answer from the bot the question belongs to (e.g. a city question asked of the library bot)."""
    services = turn.services
    other, topic = turn.understood.other_bot, turn.understood.other_bot_topic
    if other not in services.config.bots or topic is None:
        return False
    if services.knowledge.answer(other, topic, turn.language) is None:
        return False
    turn.say("fallback.other_bot", bot_name=turn.text(f"bot.{other}.name"))
    answer_from_knowledge(turn, other, topic, space)
    turn.topic = OUT_OF_SCOPE
    turn.state.misses = 0
    return True
