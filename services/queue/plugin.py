"""Entry points of the queue service (``pyproject.toml``): skills, effect handlers; the channel is in ``channel.py``.

With ``connectors.queues.enabled: false`` they register nothing, so the bot keeps answering
``check_congestion`` and ``subscribe_queue_notice`` with where and how.
"""

from __future__ import annotations

from bot.effects import EffectHandler
from bot.plugins import PluginContext
from bot.skill_registry import Skill
from services.queue.effects import queue_effects_for
from services.queue.runtime import queue_enabled, queue_runtime
from services.queue.skill import queue_skills_for


def queue_skills(context: PluginContext) -> list[Skill]:
    """``yorisoi.skills``: live ``check_congestion`` and ``subscribe_queue_notice``."""
    return queue_skills_for(queue_runtime(context)) if queue_enabled(context) else []


def queue_effects(context: PluginContext) -> list[EffectHandler]:
    """``yorisoi.effects``: ``queue.subscribe`` and ``queue.unsubscribe``."""
    return queue_effects_for(queue_runtime(context)) if queue_enabled(context) else []
