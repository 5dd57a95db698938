"""Skills: the registered handlers of system and task topics.

A skill is a function of a :class:`~bot.turn.Turn`. Task topics whose live service
does not exist yet answer honestly with where and how to do it (catalog text with
city-profile facts), never with a made-up live result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.desk.resident import rate, request_handoff
from bot.enums import HandoffKind, LanguageSource
from bot.payloads import make_payload
from bot.skill_registry import Skill, topic_skill
from bot.turn import Turn, welcome
from bot.types import Reply
from languages import endonym

SkillFunction = Callable[[Turn], None]

#: Task topics answered with "where and how", and the profile values their text needs.
HONEST_TASK_ANSWERS: Mapping[str, Mapping[str, str]] = {
    "check_congestion": {"url": "offices.congestion_url", "hours": "offices.ward.hours"},
    "subscribe_queue_notice": {"url": "offices.congestion_url"},
    "benefit_notice_registration": {
        "url": "online.portal_url", "section": "sections.citizens.name", "phone": "sections.citizens.phone",
    },
    "report_problem": {
        "url": "online.portal_url", "section": "sections.road_repairs.name", "phone": "sections.road_repairs.phone",
    },
    "search_catalog": {"url": "library.catalog_url", "phone": "library.branches.central.phone"},
    "check_loans": {"url": "library.catalog_url"},
    "renew_loan": {
        "url": "library.catalog_url", "renewal": "library.loans.renewal", "phone": "library.branches.central.phone",
    },
    "place_hold": {"url": "library.catalog_url", "limit": "library.loans.holds_limit"},
    "library_closed_days": {
        "central": "library.branches.central.name", "central_hours": "library.branches.central.hours",
        "central_closed": "library.branches.central.closed", "east": "library.branches.east.name",
        "east_hours": "library.branches.east.hours", "east_closed": "library.branches.east.closed",
    },
}


def greet(turn: Turn) -> None:
    """Welcome with the bot's start menu."""
    turn.replies.append(welcome(turn.services, turn.bot, turn.language))


def goodbye(turn: Turn) -> None:
    """Say goodbye."""
    turn.say("goodbye.reply")


def thanks(turn: Turn) -> None:
    """Answer thanks and invite another question."""
    turn.say("thanks.reply")


def restart(turn: Turn) -> None:
    """Forget any form in progress and show the menu again."""
    turn.state.active_form = None
    turn.state.slots = {}
    turn.state.misses = 0
    turn.say("restart.done", buttons=turn.menu_buttons())


def change_language(turn: Turn) -> None:
    """Switch to the requested language, or offer a choice when none was named."""
    requested = turn.entity("language")
    languages = turn.services.config.languages
    if requested in languages:
        turn.state.language = requested
        turn.state.language_source = LanguageSource.EXPLICIT
        turn.language = requested
        turn.say("language.changed")
        return
    buttons = [
        turn.button_for(endonym(code), make_payload("change_language", language=code))
        for code in languages
    ]
    turn.say("language.choose", buttons=buttons)


def talk_to_staff(turn: Turn) -> None:
    """Ask for a member of staff (queued in business hours, a ticket outside them)."""
    request_handoff(turn, HandoffKind.STAFF)


def request_interpreter(turn: Turn) -> None:
    """Ask for an interpreter and a member of staff."""
    request_handoff(turn, HandoffKind.INTERPRETER)


def back_to_bot(turn: Turn) -> None:
    """"Back to the guide" when no one holds the conversation (any more): the start menu."""
    turn.say("restart.done", buttons=turn.menu_buttons())


def handoff_declined(turn: Turn) -> None:
    """The resident would rather rephrase than talk to staff."""
    turn.state.misses = 0
    turn.say("handoff.declined", buttons=turn.menu_buttons())


def stray_secure_form(turn: Turn) -> None:
    """A secure form arrived when no form waits for it (it was cancelled meanwhile): ask again."""
    turn.say("secure.expired", buttons=turn.menu_buttons())


def honest_task_answer(topic: str) -> SkillFunction:
    """A skill that answers ``topic`` with where and how to do it, from the profile."""
    keys = HONEST_TASK_ANSWERS[topic]

    def answer(turn: Turn) -> None:
        params: dict[str, object] = {name: turn.profile_value(key) for name, key in keys.items()}
        turn.replies.append(Reply(text=turn.text(f"task.{topic}.answer", **params)))

    answer.__name__ = f"answer_{topic}"
    return answer


def builtin_skills() -> list[Skill]:
    """The skills every deployment has: system topics and the honest "where and how" task answers."""
    functions: dict[str, SkillFunction] = {
        "greet": greet,
        "goodbye": goodbye,
        "thanks": thanks,
        "restart": restart,
        "change_language": change_language,
        "talk_to_staff": talk_to_staff,
        "request_interpreter": request_interpreter,
        "handoff_declined": handoff_declined,
        "back_to_bot": back_to_bot,
        "rate": rate,
        "secret_submitted": stray_secure_form,
    }
    functions.update({topic: honest_task_answer(topic) for topic in HONEST_TASK_ANSWERS})
    return [topic_skill(topic, run) for topic, run in functions.items()]
