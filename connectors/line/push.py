"""Pushing messages written outside a reply (staff, interpreters, notices) to LINE users."""

from __future__ import annotations

import logging
import uuid

from bot.types import Reply
from connectors.line.messenger import CALL_ERRORS, MESSAGES_PER_CALL, LineMessenger, PushAlreadyAccepted
from connectors.line.render import render_replies
from connectors.line.settings import LineSettings
from translations.catalog import Catalog

log = logging.getLogger(__name__)

#: Namespace of the retry keys of pushed messages (one per stored message: a retried push sends once).
_PUSH_NAMESPACE = uuid.UUID("0b8e7c52-3d8f-4f0e-9a4e-2f6d1c9a7b31")


class LinePusher:
    """``bot.protocols.PushChannel`` for LINE."""

    channel = "line"

    def __init__(self, settings: LineSettings, catalog: Catalog | None = None) -> None:
        self._settings = settings
        self._catalog = catalog or Catalog.load()

    async def push(self, bot: str, sender: str, message_id: int, reply: Reply, language: str) -> bool:
        """Push one stored message; False when the bot has no LINE channel or LINE refused it."""
        channel = self._settings.channel(bot)
        if channel is None:
            return False
        messages = render_replies((reply,), self._catalog, language)
        try:
            async with LineMessenger(self._settings, channel) as line:
                for index in range(0, len(messages), MESSAGES_PER_CALL):
                    key = str(uuid.uuid5(_PUSH_NAMESPACE, f"{message_id}:{index}"))
                    try:
                        await line.push(sender, messages[index:index + MESSAGES_PER_CALL], key)
                    except PushAlreadyAccepted:
                        log.info("LINE push of message %s was already accepted", message_id)
        except CALL_ERRORS as error:
            log.error("LINE push of message %s failed: %s", message_id, getattr(error, "status", type(error).__name__))
            return False
        return True
