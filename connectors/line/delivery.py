"""Answering accepted LINE events: :meth:`LineDelivery.deliver` runs after the webhook said 200.

The webhook stores every message first (``handler.accept``) and hands an :class:`EventRecord` to
``deliver``, which may run in a background task now and in a task queue later: it needs only the
record, the engine (``MessageHandler``) and the settings. Replies use the free reply token; an
answer is pushed (which costs money) only when the token expired or processing took longer than
``reply_deadline_seconds``, and never to someone who unfollowed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from linebot.v3.messaging.exceptions import ApiException

from bot.protocols import Audience, MessageHandler
from bot.types import ChannelPolicy, InboundMessage, Reply
from connectors.catalogs import CatalogSource
from connectors.line.languages import map_line_language
from connectors.line.messenger import (
    CALL_ERRORS,
    MESSAGES_PER_CALL,
    LineMessenger,
    PushAlreadyAccepted,
    ReplyTokenExpired,
)
from connectors.line.render import render_replies, render_text_only
from connectors.line.settings import LineSettings

log = logging.getLogger(__name__)

CHANNEL = "line"
#: Namespace of the push retry keys (derived from the webhook event id, so a retried delivery pushes once).
_RETRY_NAMESPACE = uuid.UUID("5d0b6c3e-2f55-4a4c-9a51-7f1f6b0e9c21")


@dataclass(frozen=True)
class EventRecord:
    """One accepted LINE event waiting for :meth:`LineDelivery.deliver` (plain data a queue can carry).

    ``kind``: "message" (answer ``message`` through the engine), "follow" (greet) or "unsupported"
    (a sticker, image... : say that only text is understood). ``chat_id`` is where pushes and the
    loading animation go: the user, or the group or room the message came from.
    """

    bot: str
    kind: str
    user_id: str
    chat_id: str
    reply_token: str | None
    #: Wall-clock time (``time.time()``) when the webhook arrived: the reply token's age.
    received_at: float
    event_id: str | None = None
    message: InboundMessage | None = None
    #: What ``handler.accept(message)`` returned (the engine's stored-message record).
    record: Any = None


class LineDelivery:
    """Processes accepted events and sends the answers through the Messaging API."""

    def __init__(
        self,
        handler: MessageHandler,
        settings: LineSettings,
        policy: ChannelPolicy,
        catalog: CatalogSource,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``catalog()`` gives the texts (called per answer, so a reload shows)."""
        self._handler = handler
        if not isinstance(handler, Audience):
            raise TypeError("LINE delivery needs a handler that tracks followers (bot.protocols.Audience)")
        self._audience: Audience = handler
        self._settings = settings
        self._policy = policy
        self._catalog = catalog
        self._clock = clock

    async def deliver_batch(self, events: Sequence[EventRecord]) -> None:
        """Deliver a webhook's events: in order within each chat, chats side by side."""
        chats: dict[tuple[str, str], list[EventRecord]] = {}
        for event in events:
            chats.setdefault((event.bot, event.chat_id), []).append(event)

        async def in_order(chat_events: list[EventRecord]) -> None:
            for event in chat_events:
                await self.deliver(event)

        await asyncio.gather(*(in_order(chat_events) for chat_events in chats.values()))

    async def deliver(self, event: EventRecord) -> None:
        """Answer one accepted event; never raises (failures are logged without message text)."""
        channel = self._settings.channel(event.bot)
        if channel is None:
            log.error("LINE event for bot %s without a channel; dropped", event.bot)
            return
        try:
            async with LineMessenger(self._settings, channel) as line:
                if event.kind == "message":
                    await self._answer(event, line)
                elif event.kind == "follow":
                    await self._greet(event, line)
                elif event.kind == "unsupported":
                    await self._explain_unsupported(event, line)
        except Exception:
            log.exception("LINE delivery failed for bot %s (event %s)", event.bot, event.event_id)

    # --- the three kinds --------------------------------------------------------------------

    async def _answer(self, event: EventRecord, line: LineMessenger) -> None:
        assert event.message is not None
        work = asyncio.ensure_future(asyncio.to_thread(self._handler.process, event.record, event.message))
        wait = self._settings.loading_after_seconds
        if wait > 0:
            await asyncio.wait({work}, timeout=wait)
        if not work.done() and event.chat_id == event.user_id and await self._active(event):
            await line.show_loading(event.chat_id, round(self._settings.reply_deadline_seconds))
        result = await work
        if result.duplicate:
            return
        await self._send(event, result.replies, result.language, line)

    async def _greet(self, event: EventRecord, line: LineMessenger) -> None:
        tag = await line.profile_language(event.user_id)
        language = map_line_language(tag, self._policy.languages, self._policy.default_language)
        replies = await asyncio.to_thread(
            self._handler.lifecycle, event.bot, CHANNEL, event.user_id, "follow", language
        )
        await self._send(event, replies, language, line)

    async def _explain_unsupported(self, event: EventRecord, line: LineMessenger) -> None:
        tag = await line.profile_language(event.user_id)
        language = map_line_language(tag, self._policy.languages, self._policy.default_language)
        reply = Reply(text=self._catalog().text("line.unsupported_message", language))
        await self._send(event, (reply,), language, line, push_allowed=False)

    # --- sending ------------------------------------------------------------------------------

    async def _active(self, event: EventRecord) -> bool:
        # The follow state lives in the database, so every server sees an unfollow at once.
        return bool(await asyncio.to_thread(self._audience.is_active, event.bot, CHANNEL, event.user_id))

    async def _send(
        self, event: EventRecord, replies: Sequence[Reply], language: str, line: LineMessenger,
        *, push_allowed: bool = True,
    ) -> None:
        messages = render_replies(replies, self._catalog(), language)
        if not messages:
            return
        if not await self._active(event):
            log.info("LINE user of bot %s unfollowed; answer to event %s not sent", event.bot, event.event_id)
            return
        pending = await self._reply(event, replies, messages, line)
        if not pending:
            return
        if not push_allowed:
            log.info("LINE reply not possible for event %s; nothing pushed", event.event_id)
            return
        for index in range(0, len(pending), MESSAGES_PER_CALL):
            retry_key = str(uuid.uuid5(_RETRY_NAMESPACE, f"{event.bot}/{event.event_id}/{index}")) \
                if event.event_id else str(uuid.uuid4())
            try:
                await line.push(event.chat_id, pending[index:index + MESSAGES_PER_CALL], retry_key)
            except PushAlreadyAccepted:
                log.info("LINE push for event %s was already accepted", event.event_id)
            except CALL_ERRORS as error:
                log.error("LINE push failed for event %s: %s", event.event_id, getattr(error, "status", error))
                return

    async def _reply(
        self, event: EventRecord, replies: Sequence[Reply], messages: list[Any], line: LineMessenger
    ) -> list[Any]:
        """Reply with the first 5 messages while the token is fresh; returns what is left to push."""
        elapsed = self._clock() - event.received_at
        if not event.reply_token or elapsed >= self._settings.reply_deadline_seconds:
            log.info("LINE event %s answered after %.1f s; pushing", event.event_id, elapsed)
            return messages
        try:
            await line.reply(event.reply_token, messages)
            return messages[MESSAGES_PER_CALL:]
        except ReplyTokenExpired:
            log.info("LINE reply token of event %s expired; pushing", event.event_id)
            return messages
        except ApiException as error:
            if getattr(error, "status", None) != 400:
                log.error("LINE reply failed for event %s: %s", event.event_id, getattr(error, "status", error))
                return []
            log.warning("LINE refused the rich reply to event %s; sending text only", event.event_id)
        except CALL_ERRORS as error:
            log.error("LINE reply failed for event %s: %s", event.event_id, type(error).__name__)
            return []
        plain = render_text_only(replies)
        try:
            await line.reply(event.reply_token, plain)
            return plain[MESSAGES_PER_CALL:]
        except ReplyTokenExpired:
            return plain
        except CALL_ERRORS as error:
            log.error("LINE text reply failed for event %s: %s", event.event_id, getattr(error, "status", error))
            return []
