"""``POST /api/v1/messages``, ``GET /api/v1/conversations/{bot}/{sender}`` and ``.../updates?after=``.

The sender id of a browser or Rasa client is a long random secret the client made: knowing it is
what lets a page read the conversation. Channels whose sender ids a platform assigns (LINE) are
never returned here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from bot.protocols import MessageHandler, ResidentUpdates
from bot.types import ChannelPolicy, InboundMessage
from connectors.errors import ApiError, check_message
from connectors.web.delivery import CLIENT_ID_PATTERN, client_metadata, deliver, transcript_json

CHANNEL = "web"
#: Channels whose sender ids a platform assigns: their messages are never served by sender id.
PLATFORM_CHANNELS = ("line",)


class MessageRequest(BaseModel):
    """A resident's message to a bot."""

    model_config = ConfigDict(extra="forbid")

    bot: str = Field(min_length=1, max_length=32)
    sender: str = Field(min_length=1, max_length=128)
    text: str
    lang: str | None = None
    #: The client's id for this message (the widget's HTTP fallback): a resend is answered once.
    id: str | None = Field(default=None, pattern=CLIENT_ID_PATTERN)
    #: The title of the button whose payload ``text`` is, shown instead of the payload in transcripts.
    title: str | None = Field(default=None, max_length=200)


class ReplyOut(BaseModel):
    """A reply; optional parts are omitted when empty."""

    model_config = ConfigDict(extra="allow")
    text: str


class MessageResponse(BaseModel):
    """The bot's answer to one message."""

    replies: list[dict[str, Any]]
    language: str
    topic: str | None
    confidence: float | None
    #: True when ``id`` was already answered: ``replies`` are the stored answer, sent again.
    duplicate: bool = False


class WebApiConnector:
    """The JSON API of the web channel."""

    name = CHANNEL

    def router(self, handler: MessageHandler, policy: ChannelPolicy) -> APIRouter:
        """Routes under ``/api/v1``."""
        router = APIRouter(prefix="/api/v1", tags=["web"])

        @router.post("/messages", response_model=MessageResponse)
        async def post_message(request: MessageRequest) -> MessageResponse:
            text = check_message(policy, request.bot, request.text, request.lang)
            message = InboundMessage(
                bot=request.bot, channel=CHANNEL, sender=request.sender, text=text, language=request.lang,
                external_id=request.id, metadata=client_metadata(request.id, request.title),
            )
            delivery = await deliver(handler, message)
            return MessageResponse(
                replies=list(delivery.replies),
                language=delivery.language or request.lang or policy.default_language,
                topic=delivery.topic,
                confidence=delivery.confidence,
                duplicate=delivery.duplicate,
            )

        @router.get("/conversations/{bot}/{sender}")
        async def get_transcript(bot: str, sender: str) -> dict[str, Any]:
            check_message(policy, bot, "-", None)
            entries = await run_in_threadpool(handler.transcript, bot, sender)
            own = [entry for entry in entries if entry.channel not in PLATFORM_CHANNELS]
            return {"bot": bot, "sender": sender, "messages": transcript_json(own)}

        @router.get("/conversations/{bot}/{sender}/updates")
        async def get_updates(bot: str, sender: str, after: int = 0, channel: str = CHANNEL) -> dict[str, Any]:
            """Messages from staff, interpreters and notices (the HTTP fallback of the widget's WebSocket)."""
            check_message(policy, bot, "-", None)
            if channel in PLATFORM_CHANNELS or channel not in ("web", "kiosk", "rasa"):
                raise ApiError(422, "unsupported_channel", "channel must be web, kiosk or rasa")
            if not isinstance(handler, ResidentUpdates):
                return {"messages": []}
            entries = await run_in_threadpool(handler.updates, bot, channel, sender, after)
            return {"messages": transcript_json(entries)}

        return router
