"""``POST /api/v1/messages`` and ``GET /api/v1/conversations/{bot}/{sender}``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from bot.protocols import MessageHandler
from bot.types import ChannelPolicy, InboundMessage
from connectors.errors import check_message

CHANNEL = "web"


class MessageRequest(BaseModel):
    """A resident's message to a bot."""

    model_config = ConfigDict(extra="forbid")

    bot: str = Field(min_length=1, max_length=32)
    sender: str = Field(min_length=1, max_length=128)
    text: str
    lang: str | None = None


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
                bot=request.bot, channel=CHANNEL, sender=request.sender, text=text, language=request.lang
            )
            result = await run_in_threadpool(handler.handle, message)
            return MessageResponse(
                replies=[reply.to_dict() for reply in result.replies],
                language=result.language,
                topic=result.topic,
                confidence=None if result.confidence is None else round(result.confidence, 4),
            )

        @router.get("/conversations/{bot}/{sender}")
        async def get_transcript(bot: str, sender: str) -> dict[str, Any]:
            check_message(policy, bot, "-", None)
            entries = await run_in_threadpool(handler.transcript, bot, sender)
            return {
                "bot": bot,
                "sender": sender,
                "messages": [
                    {
                        "id": e.id, "channel": e.channel, "direction": e.direction, "role": e.role,
                        "text": e.text, "language": e.language, "topic": e.topic, "status": e.status,
                        "created_at": e.created_at.isoformat(), "reply": e.payload if e.direction == "out" else None,
                    }
                    for e in entries
                ],
            }

        return router
