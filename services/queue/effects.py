"""The subscription is written after the turn commits: ``queue.subscribe`` and ``queue.unsubscribe`` effects.

Each effect runs once (the core's effect worker); the subscription is keyed by the effect's
idempotency key, so a retried effect changes nothing. It expires when the office closes today.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.effects import EffectFailed, EffectHandler, EffectRequest
from bot.types import Reply
from services.queue.runtime import QueueRuntime
from services.queue.types import NoticeRoute


class SubscribeEffect:
    """``queue.subscribe``: ``{"office", "ticket", "conversation_id", "office_name", "told_near"}``."""

    kind = "queue.subscribe"

    def __init__(self, runtime: QueueRuntime) -> None:
        self._runtime = runtime

    def perform(self, request: EffectRequest) -> Sequence[Reply]:
        """Store the subscription (the chat already confirmed it); refusals reach the resident as text."""
        runtime = self._runtime
        params = request.params
        office, ticket = str(params["office"]), int(str(params["ticket"]))
        office_name = str(params.get("office_name") or office)
        directory = runtime.directory()
        if directory.get(office) is None:
            raise EffectFailed("queue.subscribe.failed")
        now = runtime.now()
        closing = directory.closing_time(office, now)
        if closing is None:
            raise EffectFailed("queue.subscribe.closed", office=office_name,
                               hours=directory.hours_text(office, request.language))
        subscribed = runtime.store.subscribe(
            key=request.idempotency_key, office=office, ticket=ticket, bot=request.bot,
            conversation_id=str(params["conversation_id"]), route=NoticeRoute.CONVERSATION, office_name=office_name,
            now=now, expires_at=closing, ahead=runtime.settings.notice_ahead, told_near=bool(params.get("told_near")))
        if subscribed.already_called:
            raise EffectFailed("queue.subscribe.already_called", ticket=ticket, office=office_name)
        runtime.dispatcher.send(subscribed.due)
        return ()


class UnsubscribeEffect:
    """``queue.unsubscribe``: ``{"conversation_id"}`` — every active subscription of the conversation ends."""

    kind = "queue.unsubscribe"

    def __init__(self, runtime: QueueRuntime) -> None:
        self._runtime = runtime

    def perform(self, request: EffectRequest) -> Sequence[Reply]:
        """Cancel (the chat already said so)."""
        self._runtime.store.cancel(str(request.params["conversation_id"]), self._runtime.now())
        return ()


def queue_effects_for(runtime: QueueRuntime) -> list[EffectHandler]:
    """The queue service's effect handlers on ``runtime``."""
    return [SubscribeEffect(runtime), UnsubscribeEffect(runtime)]
