"""Skills are registered, not named by the engine.

A skill is a :class:`Skill`: a name, the topics it answers and a ``handle(turn)`` that only
changes the turn (replies, state, effects). Built-in skills register in
:func:`bot.skills.builtin_skills`; a plugin package (a live service, say) adds its own through
the ``yorisoi.skills`` entry point group, whose entries are callables taking the deployment's
:class:`~bot.plugins.PluginContext` and returning skills. A bot
uses every registered skill unless its config lists ``skills:`` by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from bot.form_engine import Form
from bot.turn import Turn

if TYPE_CHECKING:
    from bot.plugins import PluginContext

#: The entry point group plugins register skills in.
SKILL_ENTRY_POINTS = "yorisoi.skills"


@dataclass(frozen=True)
class Skill:
    """Answers ``topics`` by calling ``run(turn)``; ``name`` is what a bot's config lists."""

    name: str
    topics: frozenset[str]
    run: Callable[[Turn], None]
    #: Forms the skill starts (``start_form``); the engine continues them on later turns.
    forms: tuple[Form, ...] = ()

    def handles(self, turn: Turn) -> bool:
        """Whether the turn's topic is one of this skill's."""
        return turn.topic in self.topics

    def handle(self, turn: Turn) -> None:
        """Answer the turn."""
        self.run(turn)


def topic_skill(topic: str, run: Callable[[Turn], None]) -> Skill:
    """A skill for one topic, named after it."""
    return Skill(name=topic, topics=frozenset({topic}), run=run)


class SkillRegistry:
    """The skills of a deployment and which bot uses which."""

    def __init__(self, skills: Iterable[Skill] = (), enabled: Mapping[str, Sequence[str] | None] | None = None,
                 ) -> None:
        self._skills: dict[str, Skill] = {}
        for skill in skills:
            self.register(skill)
        self._enabled = dict(enabled or {})

    def register(self, skill: Skill) -> None:
        """Add ``skill``; of two skills with one name the first registered wins (so an application's or a
        plugin's live skill replaces a built-in "where and how" answer of the same topic)."""
        self._skills.setdefault(skill.name, skill)

    def names(self) -> tuple[str, ...]:
        """Registered skill names."""
        return tuple(self._skills)

    def forms(self) -> dict[str, Form]:
        """The forms the registered skills start, by name."""
        return {form.name: form for skill in self._skills.values() for form in skill.forms}

    def for_turn(self, turn: Turn) -> Skill | None:
        """The first skill of the turn's bot that handles it."""
        allowed = self._enabled.get(turn.bot)
        for name, skill in self._skills.items():
            if (allowed is None or name in allowed) and skill.handles(turn):
                return skill
        return None


def plugin_skills(context: PluginContext) -> list[Skill]:
    """Skills that installed plugin packages register under :data:`SKILL_ENTRY_POINTS` (each entry is
    called with the deployment's :class:`~bot.plugins.PluginContext`)."""
    found: list[Skill] = []
    for entry in entry_points(group=SKILL_ENTRY_POINTS):
        found.extend(entry.load()(context))
    return found
