"""Pushing messages written outside a reply (staff, interpreters, notices) to LINE users."""

from __future__ import annotations

import logging
import uuid

from bot.channels import Address
from bot.types import Reply
from connectors.catalogs import CatalogSource, catalog_source
from connectors.line.messenger import CALL_ERRORS, MESSAGES_PER_CALL, LineMessenger, PushAlreadyAccepted
from connectors.line.render import render_replies
from connectors.line.settings import LineSettings

log = logging.getLogger(__name__)

#: Namespace of the retry keys of pushed messages (one per stored message: a retried push sends once).
_PUSH_NAMESPACE = uuid.UUID("0b8e7c52-3d8f-4f0e-9a4e-2f6d1c9a7b31")


class LinePusher:
    """Sends one stored message to a LINE user (``send`` of the LINE channel, driven by the core's outbox)."""

    channel = "line"

    def __init__(self, settings: LineSettings, catalog: CatalogSource | None = None) -> None:
        """``catalog()`` gives the texts of the rendered messages (called per message)."""
        self._settings = settings
        self._catalog = catalog_source(catalog)

    async def send(self, address: Address, reply: Reply, language: str) -> bool:
        """Push one stored message; False when the bot has no LINE channel or LINE refused it.

        ``address.key`` (the stored message's id) makes the retry keys: a retried push is sent once.
        """
        channel = self._settings.channel(address.bot)
        if channel is None:
            return False
        messages = render_replies((reply,), self._catalog(), language)
        try:
            async with LineMessenger(self._settings, channel) as line:
                for index in range(0, len(messages), MESSAGES_PER_CALL):
                    key = str(uuid.uuid5(_PUSH_NAMESPACE, f"{address.key}:{index}"))
                    try:
                        await line.push(address.sender, messages[index:index + MESSAGES_PER_CALL], key)
                    except PushAlreadyAccepted:
                        log.info("LINE push of message %s was already accepted", address.key)
        except CALL_ERRORS as error:
            log.error("LINE push of message %s failed: %s", address.key, getattr(error, "status", type(error).__name__))
            return False
        return True

    async def push(self, bot: str, sender: str, message_id: int, reply: Reply, language: str) -> bool:
        """:meth:`send` to ``sender`` of ``bot``, keyed by the stored message's id."""
        return await self.send(Address(bot, sender, key=str(message_id)), reply, language)
