"""Effects and housekeeping through a task engine: Dramatiq on Redis or RabbitMQ, or in-process.

``YORISOI_BROKER_URL`` selects the mode:

* unset (the default, ``make run``): **embedded**. The server performs effects in-process
  (:meth:`bot.effect_worker.EffectWorker.run_forever`, woken after each commit) and runs the
  recovery sweep itself. Nothing here is used and no broker is needed.
* ``redis://…`` or ``amqp://…``: the server only *enqueues* :func:`run_effects` after a commit with
  effects; ``yorisoi worker`` processes perform them through the same
  :meth:`~bot.effect_worker.EffectWorker.run_once`, run :func:`housekeeping`, and a small scheduler
  beside them enqueues both periodically.

Effects are stored in SQL with their turn before anything is enqueued, so the broker only carries
"look for work now". A lost message (the broker was down, a worker died mid-task) loses nothing:
the scheduler's periodic :func:`run_effects` drains whatever is due. Both tasks are idempotent
(effects and stranded turns are claimed with leases), so duplicates are harmless.

``YORISOI_TASK_QUEUE`` (default ``yorisoi``) names the queue, and the key namespace on Redis, so
several deployments (or tests) can share a broker.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.protocols import Understanding

if TYPE_CHECKING:
    from dramatiq import Actor, Broker

    from bot.app import Components

log = logging.getLogger(__name__)

#: The environment variable that selects the broker (unset: embedded mode).
BROKER_URL_ENV = "YORISOI_BROKER_URL"
#: The environment variable naming the queue (and the Redis key namespace).
TASK_QUEUE_ENV = "YORISOI_TASK_QUEUE"
DEFAULT_QUEUE = "yorisoi"
#: The SQL fallback: how often the scheduler enqueues :func:`run_effects` without a commit asking.
EFFECTS_EVERY_SECONDS = 5.0
#: A failing enqueue is logged at most this often (the first failure of a streak always).
WARN_EVERY_SECONDS = 60.0
_SCHEMES = {"redis": "redis", "rediss": "redis", "amqp": "rabbitmq", "amqps": "rabbitmq"}


def broker_url(environ: Mapping[str, str] | None = None) -> str | None:
    """``YORISOI_BROKER_URL``, or None in embedded mode."""
    value = (os.environ if environ is None else environ).get(BROKER_URL_ENV, "").strip()
    return value or None


def queue_name(environ: Mapping[str, str] | None = None) -> str:
    """``YORISOI_TASK_QUEUE``, or ``yorisoi``."""
    return (os.environ if environ is None else environ).get(TASK_QUEUE_ENV, "").strip() or DEFAULT_QUEUE


def broker_kind(url: str) -> str:
    """``redis`` or ``rabbitmq`` for a broker URL; :class:`ValueError` for anything else."""
    kind = _SCHEMES.get(urlsplit(url).scheme.lower())
    if kind is None:
        raise ValueError(f"{BROKER_URL_ENV} must start with redis://, rediss://, amqp:// or amqps://")
    return kind


def create_broker(url: str, queue: str = DEFAULT_QUEUE) -> Broker:
    """A Dramatiq broker for ``url`` (connections are opened on first use).

    Redis keys live under ``queue``; a broker that does not answer fails a call within seconds
    (it never blocks a caller for long). RabbitMQ publishes with confirmations.
    """
    if broker_kind(url) == "redis":
        import redis
        from dramatiq.brokers.redis import RedisBroker

        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=30, health_check_interval=30)
        return RedisBroker(client=client, namespace=queue)
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    parts = urlsplit(url)
    settings = {"socket_timeout": "3", "connection_attempts": "1", "blocked_connection_timeout": "30",
                **dict(parse_qsl(parts.query))}  # the URL's own settings win
    return RabbitmqBroker(url=urlunsplit(parts._replace(query=urlencode(settings))), confirm_delivery=True)


@dataclass(frozen=True)
class TaskEngine:
    """A broker with Yorisoi's actors declared on it."""

    broker: Broker
    #: Perform every effect due now (after a commit, and periodically as the SQL fallback).
    run_effects: Actor[[], None]
    #: The recovery sweep, the purge of expired links and secrets, and the rest of :func:`bot.app.housekeeping`.
    housekeeping: Actor[[], None]
    #: One round of notification deliveries (enqueued when a notification is queued, and periodically).
    deliver_notifications: Actor[[], None]

    def actor(self, name: str) -> Actor[[], None]:
        """The actor called ``name`` (``run_effects``, ``housekeeping`` or ``deliver_notifications``)."""
        found: Actor[[], None] = getattr(self, name)
        return found


def create_task_engine(url: str, queue: str = DEFAULT_QUEUE) -> TaskEngine:
    """Declare :func:`run_effects` and :func:`housekeeping` on a new broker for ``url``."""
    import dramatiq

    broker = create_broker(url, queue)
    minutes = 60_000
    # A failed run is retried soon (the database restarting, say); the periodic run covers the rest, so
    # few retries. Stale messages are dropped: the periodic run does their work anyway.
    effects = dramatiq.Actor(run_effects, broker=broker, actor_name="run_effects", queue_name=queue, priority=0,
                             options={"max_retries": 3, "min_backoff": 1_000, "max_backoff": 30_000,
                                      "time_limit": 10 * minutes, "max_age": 10 * minutes})
    # Loading the trained NLU for a stranded turn can take a while; the next period retries anyway.
    chores = dramatiq.Actor(housekeeping, broker=broker, actor_name="housekeeping", queue_name=queue, priority=0,
                            options={"max_retries": 0, "time_limit": 30 * minutes, "max_age": 10 * minutes})
    # A round stops after its budget and enqueues the next while work is left, so a large broadcast is
    # spread over every worker; a failed round is simply retried by the next one.
    notices = dramatiq.Actor(deliver_notifications, broker=broker, actor_name="deliver_notifications",
                             queue_name=queue, priority=0,
                             options={"max_retries": 0, "time_limit": 5 * minutes, "max_age": 10 * minutes})
    return TaskEngine(broker, effects, chores, notices)


# --- the tasks (in a worker process) ----------------------------------------------------------------------------

_components: Components | None = None
_components_lock = threading.Lock()


def components() -> Components:
    """This process's components, built on first use from the configuration (``YORISOI_CONFIG``).

    No trained NLU is loaded up front: effects need none, and the sweep loads it only for a stranded turn.
    """
    global _components
    with _components_lock:
        if _components is None:
            from bot.app import build_components, channels_for
            from bot.config import load_config

            # ``yorisoi worker`` migrated the database before starting the worker processes.
            config = load_config()
            _components = build_components(config, retrieval=False, nlu_needed=False, migrate=False)
            channels_for(config, _components)  # registers the channels that send notifications in bulk (LINE)
        return _components


def run_effects() -> None:
    """Perform every effect due now (:meth:`~bot.effect_worker.EffectWorker.run_once`)."""
    finished = components().worker.run_once()
    if finished:
        log.debug("performed %d effect(s)", finished)


def housekeeping() -> None:
    """The periodic chores of :func:`bot.app.housekeeping`: answer stranded messages, purge what expired."""
    from bot.app import housekeeping as chores

    chores(components())


def deliver_notifications() -> None:
    """One delivery round (:meth:`bot.notifications.NotificationDelivery.run_once`); enqueues the next while
    work is left."""
    import asyncio

    parts = components()
    if asyncio.run(parts.delivery.run_once()):
        parts.notifications_queued()


def setup_worker_broker() -> None:
    """Called by Dramatiq in each worker process: the broker of ``YORISOI_BROKER_URL`` with the actors."""
    import dramatiq

    url = broker_url()
    if url is None:
        raise RuntimeError(f"{BROKER_URL_ENV} is not set")
    dramatiq.set_broker(create_task_engine(url, queue_name()).broker)


def schedule_forever() -> NoReturn:
    """The scheduler (a process beside the workers): enqueue :func:`housekeeping` every
    ``dialogue.sweep_after_seconds / 2`` and :func:`run_effects` every :data:`EFFECTS_EVERY_SECONDS`.

    Runs until the worker stops it. Every ``yorisoi worker`` runs one; duplicates are harmless.
    """
    from bot.config import load_config

    url = broker_url()
    if url is None:
        raise RuntimeError(f"{BROKER_URL_ENV} is not set")
    engine = create_task_engine(url, queue_name())
    sweep_every = max(0.5, load_config().dialogue.sweep_after_seconds / 2)
    periods: tuple[tuple[Actor[[], Any], float], ...] = (
        (engine.housekeeping, sweep_every), (engine.run_effects, EFFECTS_EVERY_SECONDS),
        (engine.deliver_notifications, EFFECTS_EVERY_SECONDS))
    warnings = _Warnings()
    due = [time.monotonic()] * len(periods)
    while True:
        for index, (actor, every) in enumerate(periods):
            if time.monotonic() >= due[index]:
                due[index] = time.monotonic() + every
                try:
                    actor.send()
                    warnings.recovered()
                except Exception as error:  # the broker is down: try again next period
                    warnings.failed(f"scheduler could not enqueue {actor.actor_name}", error)
        time.sleep(max(0.05, min(due) - time.monotonic()))


# --- the server side ---------------------------------------------------------------------------------------------


class TaskNotifier:
    """Enqueues a task (:func:`run_effects` after commits, :func:`deliver_notifications` after a
    notification was queued), off the request path.

    :meth:`wake` only sets a flag; one background thread sends a message per burst of commits, so a
    slow or unreachable broker never delays an answer or holds a conversation's lease. A failed send
    is logged (without any message text) and dropped: the effect stays pending in SQL and the
    scheduler's periodic :func:`run_effects` performs it once the broker is back.
    """

    def __init__(self, url: str, queue: str = DEFAULT_QUEUE, task: str = "run_effects") -> None:
        broker_kind(url)  # a wrong scheme fails at start-up, not at the first commit
        self._url = url
        self._queue = queue
        self._task = task
        self._engine: TaskEngine | None = None
        self._pending = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._warnings = _Warnings()

    def wake(self) -> None:
        """Ask for one run of the task soon (e.g. after a turn with effects committed)."""
        self._pending.set()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"yorisoi-{self._task}", daemon=True)
                self._thread.start()

    def send_now(self) -> None:
        """Enqueue the task in this thread (raises when the broker is unreachable)."""
        if self._engine is None:
            self._engine = create_task_engine(self._url, self._queue)
        self._engine.actor(self._task).send()

    def _run(self) -> None:
        while True:
            self._pending.wait()
            self._pending.clear()
            try:
                self.send_now()
                self._warnings.recovered()
            except Exception as error:
                self._warnings.failed(f"could not enqueue {self._task}; the work stays pending in SQL", error)


def task_trigger(embedded: Callable[[], None], task: str = "run_effects",
                 environ: Mapping[str, str] | None = None) -> Callable[[], None]:
    """What asks for ``task`` to run: ``embedded`` (the in-process loop's wake-up) without a broker,
    else a :class:`TaskNotifier`'s wake-up."""
    url = broker_url(environ)
    return embedded if url is None else TaskNotifier(url, queue_name(environ), task).wake


class _Warnings:
    """Logs the first failure of a streak, then at most every :data:`WARN_EVERY_SECONDS`; and the recovery."""

    def __init__(self) -> None:
        self._failing_since: float | None = None
        self._last = 0.0

    def failed(self, what: str, error: Exception) -> None:
        now = time.monotonic()
        if self._failing_since is None or now - self._last >= WARN_EVERY_SECONDS:
            log.warning("%s (broker unreachable: %s)", what, type(error).__name__)
            self._last = now
        if self._failing_since is None:
            self._failing_since = now

    def recovered(self) -> None:
        if self._failing_since is not None:
            log.info("broker reachable again after %.0f s", time.monotonic() - self._failing_since)
            self._failing_since = None


# --- the understanding of a worker process -----------------------------------------------------------------------


class LazyUnderstanding:
    """The trained NLU, loaded on the first :meth:`parse` (a worker answers a turn only for the sweep)."""

    def __init__(self, load: Callable[[], Understanding]) -> None:
        self._load = load
        self._loaded: Understanding | None = None
        self._lock = threading.Lock()

    def parse(self, bot: str, text: str, *, preferred_language: str | None = None, today: date | None = None) -> Any:
        """The real model's :meth:`~bot.protocols.Understanding.parse` (loading it first if needed)."""
        with self._lock:
            if self._loaded is None:
                log.info("loading the NLU for a recovered turn")
                self._loaded = self._load()
        return self._loaded.parse(bot, text, preferred_language=preferred_language, today=today)
