"""Which residents of a batch the SMTP server accepted already, so a batch sent again skips them.

SMTP has no retry key like LINE's: when a batch of 20 e-mails fails after the 12th (the server went down),
the notification delivery sends the whole batch again later, under the same key. The channel records each
resident as soon as the server accepted their e-mail and leaves them out the next time. The record is kept
in Redis when ``YORISOI_REDIS_URL`` (or a redis:// broker) is set, so a batch taken over by another worker
after a crash skips them too; else in this process's memory. What can still repeat is the one e-mail the
server accepted just before a crash, with the same Message-ID (receivers and mail clients recognise it).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

import redis

log = logging.getLogger(__name__)

#: Batches remembered in memory (the oldest are forgotten first; a batch is retried within hours).
MEMORY_BATCHES = 2000
#: How long Redis keeps a batch's record (longer than every retry of a batch can take).
REDIS_TTL_SECONDS = 2 * 24 * 3600


class BatchProgress:
    """The residents (conversation ids) of each batch whose e-mail was accepted or refused for good."""

    def __init__(self, redis_url: str | None = None, key_prefix: str = "yorisoi") -> None:
        """``redis_url`` None keeps the record in this process only."""
        self._memory: OrderedDict[str, set[str]] = OrderedDict()
        self._prefix = f"{key_prefix}:email-batch:"
        self._redis = (redis.Redis.from_url(redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
                       if redis_url else None)

    async def settled(self, batch: str) -> set[str]:
        """The residents of ``batch`` not to send to again."""
        found = set(self._memory.get(batch, ()))
        if self._redis is not None:
            try:
                members = await asyncio.to_thread(self._redis.smembers, self._prefix + batch)
                found.update(member.decode() if isinstance(member, bytes) else str(member) for member in members)
            except redis.RedisError as error:
                log.warning("e-mail batch progress unreadable in Redis (%s): this process's only",
                            type(error).__name__)
        return found

    async def settle(self, batch: str, conversation_id: str) -> None:
        """Record that ``conversation_id``'s e-mail of ``batch`` is done (sent, or refused for good)."""
        self._memory.setdefault(batch, set()).add(conversation_id)
        self._memory.move_to_end(batch)
        while len(self._memory) > MEMORY_BATCHES:
            self._memory.popitem(last=False)
        if self._redis is not None:
            try:
                await asyncio.to_thread(self._write, batch, conversation_id)
            except redis.RedisError as error:
                log.warning("e-mail batch progress not saved in Redis (%s)", type(error).__name__)

    def _write(self, batch: str, conversation_id: str) -> None:
        assert self._redis is not None
        key = self._prefix + batch
        with self._redis.pipeline() as pipe:
            pipe.sadd(key, conversation_id)
            pipe.expire(key, REDIS_TTL_SECONDS)
            pipe.execute()

    def close(self) -> None:
        """Close the Redis connections (tests)."""
        if self._redis is not None:
            self._redis.close()
