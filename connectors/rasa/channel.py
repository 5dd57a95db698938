"""``POST /webhooks/rest/webhook`` in Rasa's request and response shape.

Request: ``{"sender": "...", "message": "...", "metadata": {"bot": "library", "language": "en"}}``.
Response: a list of ``{"recipient_id", "text", "buttons": [{"title", "payload"}]}`` (plus
``image`` messages, and links as Markdown text messages, which Rasa widgets render).

:class:`RasaChannel` is the registered ``rasa`` channel (no settings besides ``enabled``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from bot.channels import ChannelContext, ChannelKind, NoSettings, cannot_send, channel_settings
from bot.protocols import MessageHandler
from bot.types import ChannelPolicy, InboundMessage, Reply
from connectors.errors import check_message

CHANNEL = "rasa"


class RasaRequest(BaseModel):
    """What Rasa's REST channel receives."""

    model_config = ConfigDict(extra="ignore")

    sender: str = Field(min_length=1, max_length=128)
    message: str
    metadata: dict[str, Any] | None = None


def render_rasa(recipient: str, replies: tuple[Reply, ...]) -> list[dict[str, Any]]:
    """Replies as Rasa REST messages."""
    out: list[dict[str, Any]] = []
    for reply in replies:
        message: dict[str, Any] = {"recipient_id": recipient, "text": reply.text}
        if reply.buttons:
            message["buttons"] = [{"title": b.title, "payload": b.payload} for b in reply.buttons]
        out.append(message)
        out.extend({"recipient_id": recipient, "text": f"[{link.title}]({link.url})"} for link in reply.links)
        if reply.image_url:
            out.append({"recipient_id": recipient, "image": reply.image_url})
        for card in reply.cards:
            out.append({"recipient_id": recipient, "custom": {"card": {
                "title": card.title, "text": card.text, "image": card.image_url,
                "buttons": [{"title": b.title, "payload": b.payload} for b in card.buttons],
            }}})
    return out


class RasaRestConnector:
    """Rasa's REST input channel."""

    name = CHANNEL

    def router(self, handler: MessageHandler, policy: ChannelPolicy) -> APIRouter:
        """The webhook route."""
        router = APIRouter(tags=["rasa"])

        @router.post("/webhooks/rest/webhook")
        async def webhook(request: RasaRequest, bot: str | None = None) -> list[dict[str, Any]]:
            metadata = request.metadata or {}
            chosen_bot = str(metadata.get("bot") or bot or policy.bots[0])
            language = metadata.get("language")
            text = check_message(policy, chosen_bot, request.message, language)
            message = InboundMessage(
                bot=chosen_bot, channel=CHANNEL, sender=request.sender, text=text, language=language,
                metadata={k: v for k, v in metadata.items() if k in ("bot", "language")},
            )
            result = await run_in_threadpool(handler.handle, message)
            return render_rasa(request.sender, result.replies)

        @router.get("/webhooks/rest/")
        async def health() -> dict[str, str]:
            return {"status": "ok"}

        return router


class RasaChannel:
    """The registered ``rasa`` channel: Rasa's REST webhook (Rasa clients fetch messages themselves)."""

    name: ClassVar[str] = CHANNEL
    kind: ClassVar[ChannelKind] = ChannelKind.BROWSER
    send = staticmethod(cannot_send)

    def __init__(self, context: ChannelContext) -> None:
        self._context = context

    @classmethod
    def from_config(cls, section: Mapping[str, Any], context: ChannelContext) -> RasaChannel:
        """Validate ``connectors.rasa`` (no keys besides ``enabled``)."""
        channel_settings(NoSettings, cls.name, section)
        return cls(context)

    def router(self) -> APIRouter:
        """``/webhooks/rest/...``."""
        return RasaRestConnector().router(self._context.handler, self._context.policy)
