"""The outbox: messages written outside a turn (staff, interpreters, notices) sent by channels that push.

Channels of kind ``PLATFORM`` (LINE) receive them through ``Channel.send``; browsers (web widget,
kiosk) fetch their messages themselves. Every server runs
an outbox; a message is claimed with a conditional UPDATE (pending → sending), so exactly one
server pushes it. A task queue can later call :meth:`Outbox.run_once` instead of the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import Address, Channel
from bot.protocols import Audience
from bot.storage import models
from bot.types import Reply

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
BATCH = 50


class Outbox:
    """Sends pending out-of-turn messages through the channels that push."""

    def __init__(self, sessions: sessionmaker[Session], channels: Iterable[Channel],
                 audience: Audience | None = None) -> None:
        """``channels``: the ``PLATFORM`` channels; each sends the messages of its own conversations."""
        self._sessions = sessions
        self._channels = {channel.name: channel for channel in channels}
        self._audience = audience

    async def run_once(self) -> int:
        """Push what is pending now; returns how many messages were sent."""
        sent = 0
        for name, channel in self._channels.items():
            for message_id, bot, sender, payload, language in await run_in_threadpool(self._claim, name):
                delivered = False
                if self._audience is None or self._audience.is_active(bot, name, sender):
                    try:
                        address = Address(bot, sender, key=str(message_id))
                        delivered = await channel.send(address, Reply.from_dict(payload), language)
                    except Exception as error:  # one failed push must not stop the others
                        log.error("push of message %s on %s failed: %s", message_id, name, type(error).__name__)
                await run_in_threadpool(self._finish, message_id, "sent" if delivered else "failed")
                sent += delivered
        return sent

    async def run_forever(self, interval: float = POLL_SECONDS) -> None:
        """Poll until cancelled (started by the app's lifespan when a pushing channel is configured)."""
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # e.g. the database restarts: try again next round
                log.warning("outbox round failed: %s", type(error).__name__)
            await asyncio.sleep(interval)

    def _claim(self, channel: str) -> list[tuple[int, str, str, dict[str, object], str]]:
        with self._sessions.begin() as session:
            rows = session.execute(
                select(models.Message.id, models.Conversation.bot, models.Conversation.sender,
                       models.Message.payload, models.Message.language)
                .join(models.Conversation, models.Conversation.id == models.Message.conversation_id)
                .where(models.Conversation.channel == channel, models.Message.out_of_turn.is_(True),
                       models.Message.status == "pending")
                .order_by(models.Message.id).limit(BATCH)
            ).all()
            claimed = []
            for message_id, bot, sender, payload, language in rows:
                taken = session.execute(update(models.Message).where(
                    models.Message.id == message_id, models.Message.status == "pending").values(status="sending"))
                if taken.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append((message_id, bot, sender, dict(payload or {}), language or "ja"))
            return claimed

    def _finish(self, message_id: int, status: str) -> None:
        with self._sessions.begin() as session:
            session.execute(update(models.Message).where(models.Message.id == message_id).values(status=status))
