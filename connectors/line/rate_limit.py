"""A push rate limit shared by every process: LINE counts requests per channel, not per worker.

LINE's Messaging API allows 2,000 push requests per second per channel (a channel is a bot's
official account) and answers 429 beyond that. Every server runs an outbox, so the limit must be
global: :class:`PushRateLimiter` keeps a moving window per bot with the ``limits`` library, in
Redis when ``YORISOI_REDIS_URL`` (or a ``redis://`` ``YORISOI_BROKER_URL``) is set, else in this
process's memory (one process only). Timestamps are the processes' clocks: keep them in sync (NTP).

The Redis calls are blocking and short; they run in a worker thread so the event loop never waits
on Redis. When Redis is unreachable, pushes are limited per process (logged) rather than stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from bot.channels import TryLater

log = logging.getLogger(__name__)

#: Pushes per second per LINE channel by default: half of LINE's documented 2,000 req/s for the push
#: endpoint, leaving room for clock skew between servers and for the other calls of the same channel.
DEFAULT_PUSH_RATE = 1000
#: How long a push waits for a free slot before it is handed back to the outbox (``TryLater``).
DEFAULT_MAX_WAIT_SECONDS = 2.0
#: Multicast calls per second per LINE channel by default: half of LINE's 200 req/s for that endpoint.
DEFAULT_MULTICAST_RATE = 100
#: Prefix of the limiter's Redis keys.
DEFAULT_KEY_PREFIX = "yorisoi"


def shared_storage_url(environ: Mapping[str, str]) -> str | None:
    """The Redis URL every process shares: ``YORISOI_REDIS_URL``, else a redis ``YORISOI_BROKER_URL``, else None."""
    url = environ.get("YORISOI_REDIS_URL", "").strip()
    if url:
        return url
    broker = environ.get("YORISOI_BROKER_URL", "").strip()
    if broker.startswith(("redis://", "rediss://")):
        return broker
    return None


class PushRateLimiter:
    """At most ``rate_per_second`` pushes per second per bot, across every process sharing ``redis_url``."""

    def __init__(self, rate_per_second: int = DEFAULT_PUSH_RATE, *, redis_url: str | None = None,
                 key_prefix: str = DEFAULT_KEY_PREFIX, max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS,
                 endpoint: str = "line-push") -> None:
        """``redis_url`` None keeps the window in memory (one process); ``key_prefix`` names the Redis keys;
        ``endpoint`` names the limited API (each of LINE's endpoints has its own limit)."""
        self._endpoint = endpoint
        if rate_per_second < 1:
            raise ValueError("rate_per_second must be at least 1")
        self.rate = RateLimitItemPerSecond(rate_per_second, 1)
        self.shared = redis_url is not None
        self._max_wait = max_wait_seconds
        storage: Storage = MemoryStorage()
        if redis_url is not None:
            # Connections are made on first use: a server starts even while Redis is down.
            storage = RedisStorage(redis_url, key_prefix=key_prefix, wrap_exceptions=True,
                                   socket_timeout=1.0, socket_connect_timeout=1.0)
        self._limiter = MovingWindowRateLimiter(storage)
        self._local = MovingWindowRateLimiter(MemoryStorage())  # while Redis is unreachable

    async def acquire(self, bot: str) -> None:
        """Wait (async) for a free push slot of ``bot``'s LINE channel; raise :class:`TryLater` past the wait."""
        deadline = time.monotonic() + self._max_wait
        while True:
            free_in = await asyncio.to_thread(self._try, bot)
            if free_in is None:
                return
            if time.monotonic() + free_in > deadline:
                raise TryLater("push rate limit", retry_after=free_in)
            await asyncio.sleep(free_in)

    def clear(self, bot: str) -> None:
        """Forget ``bot``'s window (tests)."""
        self._limiter.clear(self.rate, *self._identifiers(bot))

    def _try(self, bot: str) -> float | None:
        """Take a slot: None when taken, else the seconds until one is free."""
        try:
            return self._take(self._limiter, self.rate, bot)
        except StorageError as error:
            log.warning("push rate limit storage unreachable (%s): limiting this process only",
                        type(error.storage_error).__name__)
            return self._take(self._local, self.rate, bot)

    def _take(self, limiter: MovingWindowRateLimiter, item: RateLimitItem, bot: str) -> float | None:
        identifiers = self._identifiers(bot)
        if limiter.hit(item, *identifiers):
            return None
        reset_time, _remaining = limiter.get_window_stats(item, *identifiers)
        return max(0.001, reset_time - time.time())

    def _identifiers(self, bot: str) -> tuple[str, str]:
        return self._endpoint, bot
