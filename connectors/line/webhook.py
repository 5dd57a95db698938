"""``POST /line/{bot}/webhook``: one LINE official account per bot.

The signature (``X-Line-Signature``) is verified with the SDK's ``WebhookParser`` before anything
is stored. Each message is stored synchronously (``handler.accept``) so it survives a crash, then
LINE gets its 200 at once and the answer is produced in a background task
(:meth:`connectors.line.delivery.LineDelivery.deliver`). Redelivered events carry the same
``webhookEventId`` and are dropped by the engine.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhooks import (
    FollowEvent,
    GroupSource,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    RoomSource,
    TextMessageContent,
    UnfollowEvent,
)

from bot.protocols import Audience, MessageHandler
from bot.types import ChannelPolicy, InboundMessage, Location
from connectors.catalogs import CatalogSource, catalog_source
from connectors.errors import ApiError, check_message
from connectors.line.delivery import CHANNEL, EventRecord, LineDelivery
from connectors.line.push import LinePusher
from connectors.line.settings import LineSettings
from translations.catalog import Catalog

log = logging.getLogger(__name__)


class LineConnector:
    """The LINE channel: mount ``router(handler, policy)``; answers go out in background tasks."""

    name = CHANNEL

    def __init__(
        self, settings: LineSettings, *, catalog: CatalogSource | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        """``catalog()`` gives the texts (called per webhook and per answer, so a reload shows; default:
        the catalogs on disk, read once)."""
        self.settings = settings
        self._catalog = catalog_source(catalog)
        self._clock = clock

    def pusher(self) -> LinePusher:
        """Sends staff and interpreter messages to LINE users (driven by the app's outbox)."""
        return LinePusher(self.settings, self._catalog)

    def router(self, handler: MessageHandler, policy: ChannelPolicy) -> APIRouter:
        """The webhook route of every bot that has a LINE channel (``handler`` must also be an ``Audience``)."""
        if not isinstance(handler, Audience):
            raise TypeError("the LINE channel needs a handler that tracks followers (bot.protocols.Audience)")
        delivery = LineDelivery(handler, self.settings, policy, self._catalog, clock=self._clock)
        router = APIRouter(tags=["line"])

        @router.post("/line/{bot}/webhook")
        async def webhook(bot: str, request: Request, background: BackgroundTasks) -> dict[str, str]:
            channel = self.settings.channel(bot) if bot in policy.bots else None
            if channel is None:
                raise ApiError(404, "unknown_bot", f"bot {bot!r} has no LINE channel on this server")
            signature = request.headers.get("x-line-signature")
            if not signature:
                raise ApiError(400, "missing_signature", "the X-Line-Signature header is missing")
            try:
                body = (await request.body()).decode("utf-8")
                events = WebhookParser(channel.secret).parse(body, signature)
            except InvalidSignatureError as error:
                raise ApiError(400, "invalid_signature", "the X-Line-Signature header does not match the body") \
                    from error
            except (ValueError, KeyError, TypeError) as error:  # signed, but not a webhook body
                raise ApiError(400, "malformed_json", "the request body is not a LINE webhook body") from error
            received_at = self._clock()
            records = await run_in_threadpool(
                accept_events, handler, delivery, policy, self._catalog(), bot, events, received_at
            )
            if records:
                background.add_task(delivery.deliver_batch, records)
            return {"status": "ok"}

        return router


class _Handler(MessageHandler, Audience, Protocol):
    """The engine as LINE uses it: messages and followers."""


def accept_events(
    handler: _Handler, delivery: LineDelivery, policy: ChannelPolicy, catalog: Catalog, bot: str,
    events: Sequence[Any], received_at: float,
) -> list[EventRecord]:
    """Store what the events say now (messages, unfollows) and return what remains to be answered."""
    records: list[EventRecord] = []
    for event in events:
        if getattr(event, "mode", None) == "standby":
            continue  # another channel (module) is in charge of this chat
        source = getattr(event, "source", None)
        user_id = getattr(source, "user_id", None)
        if not user_id:
            continue
        chat_id = str(
            source.group_id if isinstance(source, GroupSource)
            else source.room_id if isinstance(source, RoomSource) else user_id
        )
        event_id = getattr(event, "webhook_event_id", None)
        base: dict[str, Any] = {
            "bot": bot, "user_id": user_id, "chat_id": chat_id, "received_at": received_at, "event_id": event_id,
            "reply_token": getattr(event, "reply_token", None),
        }
        if isinstance(event, UnfollowEvent):
            handler.lifecycle(bot, CHANNEL, user_id, "unfollow", None)
            continue
        if isinstance(event, FollowEvent):
            records.append(EventRecord(kind="follow", **base))
            continue
        message = inbound_message(event, policy, catalog, bot, user_id, event_id)
        if message is None:
            if isinstance(event, MessageEvent) and event.reply_token:
                records.append(EventRecord(kind="unsupported", **base))
            continue
        record = handler.accept(message)
        if getattr(record, "duplicate", False):
            log.info("LINE event %s was delivered before; ignored", event_id)
            continue
        records.append(EventRecord(kind="message", message=message, record=record, **base))
    return records


def inbound_message(
    event: Any, policy: ChannelPolicy, catalog: Catalog, bot: str, user_id: str, event_id: str | None
) -> InboundMessage | None:
    """The message a text, location or postback event carries; None for anything else."""
    location = None
    if isinstance(event, PostbackEvent):
        raw = event.postback.data or ""
    elif isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
        raw = event.message.text or ""
    elif isinstance(event, MessageEvent) and isinstance(event.message, LocationMessageContent):
        content = event.message
        location = Location(float(content.latitude), float(content.longitude), content.address or None)
        raw = content.address or content.title or catalog.text("line.location_shared", policy.default_language)
    else:
        return None
    try:
        text = check_message(policy, bot, raw, None)
    except ApiError as error:
        log.warning("LINE event %s refused: %s", event_id, error.code)
        return None
    return InboundMessage(
        bot=bot, channel=CHANNEL, sender=user_id, text=text, external_id=event_id, location=location
    )

