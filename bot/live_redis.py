"""Live updates across processes through one Redis pub/sub channel (see :mod:`bot.live`).

:class:`RedisLive` wakes this process's watchers at once, like :class:`~bot.live.LocalLive`, and
sends the topics to the deployment's channel so every other process wakes its own. Per process:

* one publisher thread: :meth:`~RedisLive.publish` only queues the topics, so a request or a worker
  never waits for Redis. Topics queued meanwhile go out as one message. When Redis does not answer,
  the queued topics are dropped (logged without any content): connections find the change at their
  next safety poll.
* one subscriber connection, opened by the first watch (task workers publish but never watch, so
  they hold no subscription), fanned out to the local watchers. When Redis restarts or the
  connection breaks it reconnects with a backoff, and once subscribed again it wakes *every* local
  watcher, since what was published in between is lost to pub/sub but not to SQL.

A message is the publishing process's random id and the topics, one per line; a process ignores its
own messages (its watchers were woken already).
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Collection

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.live import DEFAULT_POLL_SECONDS, DEFAULT_SWEEP_SECONDS, EVERYONE, LocalLive, Watch

log = logging.getLogger(__name__)

#: Topics per Redis message at most; a larger burst is sent as "wake everyone" instead.
MAX_TOPICS_PER_MESSAGE = 500
#: Reconnection backoff of the subscriber: first and longest wait, in seconds.
RECONNECT_SECONDS = (0.2, 5.0)
#: A failure streak is logged once, then at most this often.
WARN_EVERY_SECONDS = 60.0


class RedisLive(LocalLive):
    """:class:`bot.protocols.LiveUpdates` shared by every process of a deployment through Redis pub/sub."""

    kind = "redis"

    def __init__(self, url: str, *, channel: str = "yorisoi:live", poll_seconds: float = DEFAULT_POLL_SECONDS,
                 sweep_seconds: float = DEFAULT_SWEEP_SECONDS, timeout_seconds: float = 2.0) -> None:
        """``channel`` is the deployment's pub/sub channel (every server and worker must use the same);
        ``timeout_seconds`` bounds each connect and call to Redis. Nothing connects before it is needed."""
        super().__init__(poll_seconds, sweep_seconds=sweep_seconds)
        self.channel = channel
        self._origin = secrets.token_hex(8)
        # No retries inside redis-py: a broken connection must surface here, so the subscriber knows it
        # missed messages (redis-py would resubscribe silently).
        self._client = redis.Redis.from_url(url, socket_connect_timeout=timeout_seconds,
                                            socket_timeout=timeout_seconds, health_check_interval=10,
                                            retry=Retry(NoBackoff(), 0))
        self._timeout = timeout_seconds
        self._outgoing: queue.SimpleQueue[frozenset[str] | None] = queue.SimpleQueue()
        self._closed = threading.Event()
        #: Set while the subscriber is subscribed (tests wait for it).
        self.listening = threading.Event()
        self._threads_lock = threading.Lock()
        self._publisher: threading.Thread | None = None
        self._subscriber: threading.Thread | None = None
        self._failing: dict[str, float] = {}

    def publish(self, topics: Collection[str]) -> None:
        """Wake local watchers now and queue ``topics`` for the other processes (never blocks)."""
        if not topics or self._closed.is_set():
            return
        self.wake(topics)
        self._outgoing.put(frozenset(topics))
        if self._publisher is None:
            self._start("_publisher", self._send_forever, "yorisoi-live-publisher")

    def watch(self, topic: str) -> Watch:
        """Register a watch, subscribing this process first if it is not yet."""
        if self._subscriber is None:
            self._start("_subscriber", self._listen_forever, "yorisoi-live-subscriber")
        return super().watch(topic)

    def close(self) -> None:
        """Stop the threads and close the connections (pending topics are dropped)."""
        super().close()
        self._closed.set()
        self._outgoing.put(None)
        for thread in (self._publisher, self._subscriber):
            if thread is not None:
                thread.join(timeout=self._timeout + 2)
        self._client.close()

    # --- threads -------------------------------------------------------------------------------------------------

    def _start(self, name: str, target: Callable[[], None], thread_name: str) -> threading.Thread:
        """The thread kept in attribute ``name``, started on first use (once, however many callers race)."""
        with self._threads_lock:
            running: threading.Thread | None = getattr(self, name)
            if running is None:
                running = threading.Thread(target=target, name=thread_name, daemon=True)
                setattr(self, name, running)
                running.start()
            return running

    def _send_forever(self) -> None:
        while True:
            first = self._outgoing.get()
            if first is None:
                return
            topics = set(first)
            while True:  # everything queued meanwhile goes out in one message
                try:
                    more = self._outgoing.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._outgoing.put(None)
                    break
                topics |= more
            lines = [EVERYONE] if len(topics) > MAX_TOPICS_PER_MESSAGE else sorted(topics)
            try:
                self._client.publish(self.channel, "\n".join([self._origin, *lines]))
                self._recovered("publish")
            except (redis.RedisError, OSError) as error:
                self._failed("publish", "live updates not published; connections will find them by polling", error)
                self._drop_queued()  # stale by the time Redis is back; polling covers them

    def _drop_queued(self) -> None:
        while True:
            try:
                if self._outgoing.get_nowait() is None:
                    self._outgoing.put(None)
                    return
            except queue.Empty:
                return

    def _listen_forever(self) -> None:
        delay = RECONNECT_SECONDS[0]
        while not self._closed.is_set():
            pubsub = self._client.pubsub()
            try:
                pubsub.subscribe(self.channel)
                self._await_subscription(pubsub)
                self.listening.set()
                self._recovered("subscribe")
                delay = RECONNECT_SECONDS[0]
                # Whatever was published before we listened (at start, or while Redis was away) is in SQL:
                # every connection of this process looks again.
                self.wake_all()
                while not self._closed.is_set():
                    message = pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._receive(message["data"])
            except (redis.RedisError, OSError) as error:
                self.listening.clear()
                self._failed("subscribe", "live updates: lost the Redis subscription, reconnecting", error)
                self._closed.wait(delay)
                delay = min(delay * 2, RECONNECT_SECONDS[1])
            finally:
                self.listening.clear()
                try:
                    pubsub.close()
                except Exception:  # already broken
                    log.debug("closing a broken pub/sub connection failed")

    def _await_subscription(self, pubsub: redis.client.PubSub) -> None:
        """Read until Redis confirms the subscription (later publishes reach us for sure)."""
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=max(0.01, deadline - time.monotonic()))
            if message is not None and message.get("type") == "subscribe":
                return
        raise redis.TimeoutError("no subscription confirmation")

    def _receive(self, data: bytes | str) -> None:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        origin, _, rest = text.partition("\n")
        if origin == self._origin:
            return  # our own: local watchers were woken when it was published
        self.wake(rest.split("\n") if rest else ())

    # --- logging a failure streak once --------------------------------------------------------------------------

    def _failed(self, what: str, message: str, error: Exception) -> None:
        now = time.monotonic()
        last = self._failing.get(what)
        if last is None or now - last >= WARN_EVERY_SECONDS:
            log.warning("%s (%s)", message, type(error).__name__)
            self._failing[what] = now

    def _recovered(self, what: str) -> None:
        if self._failing.pop(what, None) is not None:
            log.info("live updates: Redis %s works again", what)
