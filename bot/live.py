"""Live updates without polling every connection: a commit wakes the connections watching what it changed.

Browser connections (the widget's WebSocket, the kiosk's long poll, the staff console's WebSocket)
used to ask SQL once a second each. Now each one *watches a topic* and asks SQL when woken:

* ``resident:<hash of bot, channel, sender>``: a message was written for the resident outside a
  turn (staff, interpreters, notices, effect results, detached replies). The hash keeps the sender
  id — a browser resident's secret — out of Redis.
* ``desk``: the staff desk changed (a handoff was created, claimed, resolved, labelled, noted,
  joined, or someone wrote in a handed-over conversation).

Writers never call :meth:`LocalLive.publish` themselves: :func:`mark` notes topics on the SQLAlchemy
session and :func:`publish_after_commit` publishes them once the transaction has committed (a
connection woken before the commit would read nothing), and drops them on rollback.

Two implementations of :class:`bot.protocols.LiveUpdates`:

* :class:`LocalLive` (the embedded default): watchers in this process are woken at once.
* :class:`bot.live_redis.RedisLive` when ``YORISOI_REDIS_URL`` (or a ``redis://`` ``YORISOI_BROKER_URL``)
  is set: one Redis pub/sub channel per deployment also carries the topics to every other process
  (one subscriber connection per process, fanned out to its watchers). Task workers publish through
  it too, so an effect result written by ``yorisoi worker`` wakes a widget on any server.

SQL polling stays as the fallback, once per *process* instead of once per connection: every
``YORISOI_LIVE_SWEEP_SECONDS`` (default 2) one thread asks SQL what changed (:meth:`LocalLive.follow`,
:class:`bot.storage.live_feed.SqlChangeFeed`), so writes that woke nobody here — another server or a
worker without Redis, a command-line tool, a publish lost while Redis restarted — arrive within
seconds. Each connection also looks by itself every ``YORISOI_LIVE_POLL_SECONDS`` (default 120).
``YORISOI_LIVE_WAKEUPS=off`` turns all of this off: every connection polls, by default once a second
(the behaviour before, kept for comparison).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

if TYPE_CHECKING:
    from bot.protocols import LiveUpdates

log = logging.getLogger(__name__)

#: The topic of the staff desk (every console watches it).
DESK_TOPIC = "desk"
#: Means "every watcher" (a burst too large to name, or after wake-ups may have been lost).
EVERYONE = "*"
#: ``YORISOI_LIVE_POLL_SECONDS``: how often a watching connection also asks SQL by itself.
POLL_SECONDS_ENV = "YORISOI_LIVE_POLL_SECONDS"
#: ``YORISOI_LIVE_SWEEP_SECONDS``: how often each server process asks SQL what changed without a wake-up.
SWEEP_SECONDS_ENV = "YORISOI_LIVE_SWEEP_SECONDS"
#: ``YORISOI_LIVE_WAKEUPS=off``: no wake-ups, connections only poll (default interval then 1 s).
WAKEUPS_ENV = "YORISOI_LIVE_WAKEUPS"
#: ``YORISOI_REDIS_URL``: the Redis every process shares (else a ``redis://`` broker URL is used).
REDIS_URL_ENV = "YORISOI_REDIS_URL"
#: A connection's own look at SQL, with wake-ups (the last resort: the sweep finds changes sooner).
DEFAULT_POLL_SECONDS = 120.0
#: The per-process look at SQL for changes that woke nobody.
DEFAULT_SWEEP_SECONDS = 2.0
#: The poll without wake-ups (as every connection did before wake-ups existed).
POLLING_ONLY_SECONDS = 1.0
#: Connections opened together should not all ask SQL in the same instant: each own look waits
#: ``poll_seconds`` times a factor in this range.
JITTER = (0.8, 1.2)
#: A failing sweep is logged once, then at most this often.
WARN_EVERY_SECONDS = 60.0
#: Where :func:`mark` keeps a transaction's topics (``Session.info``).
_PENDING = "yorisoi.live.topics"


def resident_topic(bot: str, channel: str, sender: str) -> str:
    """The topic of one resident on one channel (the sender id is hashed: it is a browser's secret)."""
    digest = hashlib.blake2b(f"{bot}\x1f{channel}\x1f{sender}".encode(), digest_size=12).hexdigest()
    return f"resident:{digest}"


class Watch:
    """Wake-ups of one topic for one connection, counted from the moment the watch is made.

    A publish that arrives while the connection is busy (reading SQL, sending) is kept until the
    next :meth:`wait`, so nothing falls between "look in SQL" and "wait". Made in the connection's
    event loop; use it as a context manager (or call :meth:`close`) so it stops when the connection ends.
    """

    def __init__(self, topic: str, poll_seconds: float, hub: LocalLive) -> None:
        self.topic = topic
        self._poll_seconds = poll_seconds
        self._hub = hub
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    async def wait(self, timeout: float | None = None) -> bool:
        """Until the topic is published (True) or ``timeout`` seconds pass (False).

        ``timeout`` None is the safety poll: ``poll_seconds``, ±20 % so connections drift apart.
        """
        if timeout is None:
            timeout = self._poll_seconds * random.uniform(*JITTER)
        if not self._event.is_set():
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except TimeoutError:
                return False
        self._event.clear()
        return True

    def wake(self) -> None:
        """Wake the connection (from any thread)."""
        if self._event.is_set():
            return  # already due: the connection looks in SQL before waiting again
        try:
            self._loop.call_soon_threadsafe(self._event.set)
        except RuntimeError:  # its event loop has ended: the connection is gone
            self.close()

    def close(self) -> None:
        """Stop receiving wake-ups."""
        self._hub.forget(self)

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class LocalLive:
    """:class:`bot.protocols.LiveUpdates` within one process: a publish wakes this process's watchers."""

    #: A watching connection's own look at SQL, in seconds.
    poll_seconds: float
    kind: ClassVar[str] = "in-process"

    def __init__(self, poll_seconds: float = DEFAULT_POLL_SECONDS, *, wakeups: bool = True,
                 sweep_seconds: float = DEFAULT_SWEEP_SECONDS) -> None:
        """``wakeups`` False: :meth:`publish` and :meth:`follow` do nothing and connections only poll (for
        comparison); ``sweep_seconds``: how often a followed feed is asked."""
        if poll_seconds <= 0 or sweep_seconds <= 0:
            raise ValueError("poll_seconds and sweep_seconds must be positive")
        self.poll_seconds = poll_seconds
        self.sweep_seconds = sweep_seconds
        self.wakeups = wakeups
        self._lock = threading.Lock()
        self._watches: dict[str, set[Watch]] = {}
        self._feed: Callable[[], Collection[str]] | None = None
        self._sweeper: threading.Thread | None = None
        self._stopped = threading.Event()

    def publish(self, topics: Collection[str]) -> None:
        """Wake every watcher of ``topics``; never blocks (called right after a commit)."""
        if self.wakeups:
            self.wake(topics)

    def resident(self, bot: str, channel: str, sender: str) -> Watch:
        """A watch of the messages written for the resident outside a turn (call it in an event loop)."""
        return self.watch(resident_topic(bot, channel, sender))

    def desk(self) -> Watch:
        """A watch of the staff desk (call it in an event loop)."""
        return self.watch(DESK_TOPIC)

    def close(self) -> None:
        """Stop the sweep."""
        self._stopped.set()
        sweeper = self._sweeper
        if sweeper is not None:
            sweeper.join(timeout=5)

    # --- the per-process fallback ------------------------------------------------------------------------------

    def follow(self, feed: Callable[[], Collection[str]]) -> None:
        """Also wake the watchers of what ``feed()`` returns (what changed in SQL since it was last asked),
        asking it every ``sweep_seconds`` from one thread while anyone watches."""
        self._feed = feed

    def _sweep_forever(self) -> None:
        feed = self._feed
        assert feed is not None
        failing_since: float | None = None
        last_warning = 0.0
        with contextlib.suppress(Exception):  # the first look only notes where SQL stands (a failure: next round)
            feed()
        while not self._stopped.wait(self.sweep_seconds):
            with self._lock:
                if not self._watches:  # nobody left to wake: the next watch starts the look again
                    self._sweeper = None
                    return
            try:
                topics = feed()
            except Exception as error:  # the database restarts, say: the next look catches up
                now = time.monotonic()
                if failing_since is None or now - last_warning >= WARN_EVERY_SECONDS:
                    log.warning("live updates: looking for changes in SQL failed (%s)", type(error).__name__)
                    last_warning = now
                failing_since = failing_since or now
                continue
            if failing_since is not None:
                failing_since = None
                topics = {EVERYONE}  # changes while the database was away may be older than the feed looks back
            if topics:
                self.wake(topics)

    # --- the fan-out, shared with RedisLive --------------------------------------------------------------------

    def watch(self, topic: str) -> Watch:
        """Register a new watch of ``topic`` for the calling event loop (and start the sweep if it is not running)."""
        watch = Watch(topic, self.poll_seconds, self)
        with self._lock:
            self._watches.setdefault(topic, set()).add(watch)
            if self._sweeper is None and self._feed is not None and self.wakeups and not self._stopped.is_set():
                self._sweeper = threading.Thread(target=self._sweep_forever, name="yorisoi-live-sweep", daemon=True)
                self._sweeper.start()
        return watch

    def forget(self, watch: Watch) -> None:
        """Unregister ``watch`` (its connection ended)."""
        with self._lock:
            watchers = self._watches.get(watch.topic)
            if watchers is not None:
                watchers.discard(watch)
                if not watchers:
                    del self._watches[watch.topic]

    def wake(self, topics: Iterable[str]) -> None:
        """Wake this process's watchers of ``topics`` (:data:`EVERYONE`: all of them)."""
        wanted = set(topics)
        with self._lock:
            if EVERYONE in wanted:
                due = [watch for watchers in self._watches.values() for watch in watchers]
            else:
                due = [watch for topic in wanted for watch in self._watches.get(topic, ())]
        for watch in due:
            watch.wake()

    def wake_all(self) -> None:
        """Wake every watcher here (after wake-ups may have been missed, e.g. Redis reconnected)."""
        self.wake({EVERYONE})

    def watching(self) -> int:
        """How many watches are open in this process."""
        with self._lock:
            return sum(len(watchers) for watchers in self._watches.values())


# --- publishing after commit ----------------------------------------------------------------------------------


def mark(session: Session, *topics: str) -> None:
    """Publish ``topics`` once ``session``'s transaction commits (nothing if it rolls back)."""
    session.info.setdefault(_PENDING, set()).update(topics)


def publish_after_commit(sessions: sessionmaker[Session], live: LiveUpdates) -> None:
    """Make every session of ``sessions`` publish the topics :func:`mark` noted, after its commit."""

    def committed(session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint was released: the outer transaction may still roll back
        topics = session.info.pop(_PENDING, None)
        if topics:
            try:
                live.publish(topics)
            except Exception as error:  # the commit stands; connections find the change at their next poll
                log.warning("live update not published: %s", type(error).__name__)

    def ended(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            session.info.pop(_PENDING, None)  # rolled back (a commit popped them already)

    event.listen(sessions, "after_commit", committed)
    event.listen(sessions, "after_transaction_end", ended)


# --- configuration --------------------------------------------------------------------------------------------


def shared_redis_url(environ: Mapping[str, str]) -> str | None:
    """``YORISOI_REDIS_URL``, else a ``redis://`` ``YORISOI_BROKER_URL``, else None (as the LINE push limiter)."""
    url = environ.get(REDIS_URL_ENV, "").strip()
    if url:
        return url
    broker = environ.get("YORISOI_BROKER_URL", "").strip()
    return broker if broker.startswith(("redis://", "rediss://")) else None


def live_updates(environ: Mapping[str, str] | None = None) -> LocalLive:
    """The live updates the environment asks for (see the module's documentation)."""
    env = os.environ if environ is None else environ
    from bot.tasks import queue_name  # bot.tasks imports the protocols, which import this module

    wakeups = env.get(WAKEUPS_ENV, "").strip().lower() not in ("off", "0", "false", "no")
    poll = _seconds(env, POLL_SECONDS_ENV, DEFAULT_POLL_SECONDS if wakeups else POLLING_ONLY_SECONDS)
    sweep = _seconds(env, SWEEP_SECONDS_ENV, DEFAULT_SWEEP_SECONDS)
    url = shared_redis_url(env) if wakeups else None
    if url is None:
        return LocalLive(poll, wakeups=wakeups, sweep_seconds=sweep)
    from bot.live_redis import RedisLive

    return RedisLive(url, channel=f"{queue_name(env)}:live", poll_seconds=poll, sweep_seconds=sweep)


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {raw!r}")
    return value
