"""Task engines on our brokers: Dramatiq, Celery and taskiq, each on Redis and on RabbitMQ.

For every engine × broker: one worker process (the engine's own CLI, a subprocess with a bounded
lifetime) is started and warmed up with one task; its idle CPU is measured for a few seconds; then
``N`` tiny tasks (each increments a Redis counter) are enqueued from this process. Reported:

* enqueue/s: ``N`` / the time this process needed to send them;
* processed/s: ``N`` / the time from the first send to the counter reaching ``N`` (end to end);
* idle CPU: the worker's process tree, % of one core, while no task arrives.

Isolation: Redis brokers use database 15 (the keys this run creates are deleted afterwards);
RabbitMQ brokers use a vhost of their own (``rabbitmqctl``), deleted afterwards. The whole run
stops by itself (about a minute; every wait has a deadline).

Run: ``python bench/bench_task_queue.py [--tasks 2000] [--idle-seconds 3]``
(``BENCH_REDIS_URL``/``BENCH_AMQP_URL`` point it elsewhere; default 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
ENGINES = ("dramatiq", "celery", "taskiq")
#: Python packages each engine needs for each broker (checked before a row runs).
REQUIREMENTS = {
    ("dramatiq", "redis"): ("dramatiq", "redis"), ("dramatiq", "rabbitmq"): ("dramatiq", "pika"),
    ("celery", "redis"): ("celery", "redis"), ("celery", "rabbitmq"): ("celery", "amqp"),
    ("taskiq", "redis"): ("taskiq", "taskiq_redis"), ("taskiq", "rabbitmq"): ("taskiq", "taskiq_aio_pika"),
}
WORKER_THREADS = 8
START_SECONDS = 30.0
DRAIN_SECONDS = 40.0


# --- the worker side: this module, imported by the engine's CLI with BENCH_TQ_* set ---------------------------


def _counter_client() -> Any:
    import redis

    return redis.Redis.from_url(os.environ.get("BENCH_TQ_COUNTER_URL", REDIS_URL))


def _bump() -> None:
    _counter_client_cached().incr(os.environ["BENCH_TQ_COUNTER"])


_CLIENT: list[Any] = []


def _counter_client_cached() -> Any:
    if not _CLIENT:
        _CLIENT.append(_counter_client())
    return _CLIENT[0]


def dramatiq_setup(url: str, queue: str) -> Any:
    """A Dramatiq broker for ``url`` with the ``bump`` actor on ``queue``."""
    import dramatiq

    if url.startswith("redis"):
        from dramatiq.brokers.redis import RedisBroker

        broker: Any = RedisBroker(url=url, namespace=queue)
    else:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url)
    dramatiq.set_broker(broker)
    return dramatiq.actor(actor_name="bump", queue_name=queue, max_retries=0)(_bump)


def celery_setup(url: str, queue: str) -> tuple[Any, Any]:
    """A Celery app for ``url`` with the ``bump`` task on ``queue``."""
    from celery import Celery

    app = Celery("bench", broker=url)
    app.conf.update(task_default_queue=queue, task_ignore_result=True, broker_connection_retry_on_startup=True,
                    worker_hijack_root_logger=False, worker_send_task_events=False)
    return app, app.task(name="bump")(_bump)


def taskiq_setup(url: str, queue: str) -> tuple[Any, Any]:
    """A taskiq broker for ``url`` with the ``bump`` task (``queue`` names the Redis stream)."""
    if url.startswith("redis"):
        from taskiq_redis import RedisStreamBroker

        broker: Any = RedisStreamBroker(url=url, queue_name=queue)
    else:
        from taskiq_aio_pika import AioPikaBroker

        broker = AioPikaBroker(url=url)

    async def bump() -> None:
        import redis.asyncio

        if not _CLIENT:
            _CLIENT.append(redis.asyncio.Redis.from_url(os.environ.get("BENCH_TQ_COUNTER_URL", REDIS_URL)))
        await _CLIENT[0].incr(os.environ["BENCH_TQ_COUNTER"])

    return broker, broker.task(task_name="bump")(bump)


if os.environ.get("BENCH_TQ_ENGINE"):  # imported by a worker CLI
    _engine, _url, _queue = os.environ["BENCH_TQ_ENGINE"], os.environ["BENCH_TQ_URL"], os.environ["BENCH_TQ_QUEUE"]
    if _engine == "dramatiq":
        bump = dramatiq_setup(_url, _queue)
    elif _engine == "celery":
        app, bump = celery_setup(_url, _queue)
    else:
        tq_broker, bump = taskiq_setup(_url, _queue)


# --- the measuring side --------------------------------------------------------------------------------------


@dataclass
class Row:
    """One engine on one broker."""

    engine: str
    broker: str
    enqueue: float = 0.0
    processed: float = 0.0
    idle_cpu: float = 0.0
    note: str = ""


def worker_command(engine: str, queue: str) -> list[str]:
    """The engine's own worker CLI: one process, several threads (or async tasks)."""
    python = sys.executable
    if engine == "dramatiq":
        return [python, "-m", "dramatiq", "bench_task_queue", "--processes", "1", "--threads", str(WORKER_THREADS)]
    if engine == "celery":
        return [python, "-m", "celery", "-A", "bench_task_queue:app", "worker", "--pool", "threads", "--concurrency",
                str(WORKER_THREADS), "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--loglevel", "WARNING"]
    return [python, "-m", "taskiq", "worker", "bench_task_queue:tq_broker", "--workers", "1", "--log-level",
            "WARNING", "--no-configure-logging"]


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children."""
    import psutil

    total = 0.0
    try:
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
    except psutil.Error:
        pass
    return total


class Sender:
    """Sends ``bump`` for one engine from this process."""

    def __init__(self, engine: str, url: str, queue: str) -> None:
        self.engine = engine
        self._loop: asyncio.AbstractEventLoop | None = None
        if engine == "dramatiq":
            self._task = dramatiq_setup(url, queue)
        elif engine == "celery":
            self._app, self._task = celery_setup(url, queue)
        else:
            self._broker, self._task = taskiq_setup(url, queue)
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._broker.startup())

    def send(self, count: int) -> None:
        """Enqueue ``count`` tasks, one message each."""
        if self._loop is not None:
            self._loop.run_until_complete(self._many(count))
            return
        for _ in range(count):
            if self.engine == "dramatiq":
                self._task.send()
            else:
                self._task.apply_async()

    async def _many(self, count: int) -> None:
        for _ in range(count):
            await self._task.kiq()

    def close(self) -> None:
        """Close the connections."""
        with contextlib.suppress(Exception):
            if self.engine == "dramatiq":
                import dramatiq

                dramatiq.get_broker().close()
            elif self.engine == "celery":
                self._app.close()
            elif self._loop is not None:
                self._loop.run_until_complete(self._broker.shutdown())
                self._loop.close()


def wait_for(predicate: Callable[[], bool], seconds: float) -> bool:
    """Poll ``predicate`` until true or ``seconds`` passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@contextlib.contextmanager
def worker(engine: str, url: str, queue: str, counter: str, lifetime: float,
           log: IO[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """The engine's worker as a subprocess, its output to ``log`` (a file: a chatty worker must never block on a
    full pipe); ended (TERM, then KILL) on leaving, and killed at most ``lifetime`` s after its start anyway."""
    env = {**os.environ, "BENCH_TQ_ENGINE": engine, "BENCH_TQ_URL": url, "BENCH_TQ_QUEUE": queue,
           "BENCH_TQ_COUNTER": counter, "BENCH_TQ_COUNTER_URL": REDIS_URL,
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    command = worker_command(engine, queue)
    if shutil.which("timeout"):  # a hard bound even if this process dies
        command = ["timeout", "-s", "KILL", str(int(lifetime)), *command]
    process = subprocess.Popen(command, cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def measure(engine: str, broker: str, url: str, tasks: int, idle_seconds: float) -> Row:
    """One row: start a worker, warm it up, measure idle CPU, then enqueue and drain ``tasks``."""
    row = Row(engine, broker)
    missing = [name for name in REQUIREMENTS[(engine, broker)] if importlib.util.find_spec(name) is None]
    if missing:
        row.note = f"not installed: {', '.join(missing)}"
        return row
    run = uuid.uuid4().hex[:8]
    queue, counter = f"bench_tq_{engine}_{run}", f"bench_tq:{engine}:{broker}:{run}"
    counts = _counter_client()
    count = lambda: int(counts.get(counter) or 0)  # noqa: E731
    sender = Sender(engine, url, queue)
    try:
        lifetime = START_SECONDS + idle_seconds + DRAIN_SECONDS + 15
        with tempfile.TemporaryFile() as log, worker(engine, url, queue, counter, lifetime, log) as process:
            sender.send(1)  # warm-up: the worker is ready once this one is done
            if not wait_for(lambda: count() >= 1 or process.poll() is not None, START_SECONDS) or count() < 1:
                log.seek(0)
                error = log.read().decode(errors="replace")[-300:]
                row.note = f"worker did not start {error}".strip()
                return row
            time.sleep(0.5)
            cpu_before, clock_before = tree_cpu_seconds(process.pid), time.monotonic()
            time.sleep(idle_seconds)
            row.idle_cpu = 100 * (tree_cpu_seconds(process.pid) - cpu_before) / (time.monotonic() - clock_before)
            start = time.perf_counter()
            sender.send(tasks)
            row.enqueue = tasks / (time.perf_counter() - start)
            if not wait_for(lambda: count() >= tasks + 1, DRAIN_SECONDS):
                row.note = f"only {count() - 1}/{tasks} processed within {DRAIN_SECONDS:.0f} s"
            row.processed = (count() - 1) / (time.perf_counter() - start)
    finally:
        sender.close()
        counts.delete(counter)
    return row


@contextlib.contextmanager
def rabbitmq_vhost(url: str) -> Iterator[str | None]:
    """The AMQP URL of a fresh vhost (deleted afterwards), or ``url`` itself without ``rabbitmqctl``."""
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        yield url
        return
    vhost = f"bench_tq_{uuid.uuid4().hex[:8]}"

    def ctl_run(*args: str) -> bool:
        return subprocess.run([ctl, *args], capture_output=True, timeout=30).returncode == 0

    if not (ctl_run("add_vhost", vhost) and ctl_run("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")):
        ctl_run("delete_vhost", vhost)
        yield url
        return
    parts = urlsplit(url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{vhost}", "", ""))
    finally:
        ctl_run("delete_vhost", vhost)


@contextlib.contextmanager
def redis_cleanup(url: str) -> Iterator[None]:
    """Delete the keys this run creates in the benchmark's Redis database."""
    import redis

    client = redis.Redis.from_url(url)
    before = set(client.scan_iter(count=1000))
    try:
        yield
    finally:
        created = set(client.scan_iter(count=1000)) - before
        if created:
            client.delete(*created)
        client.close()


def print_table(rows: list[Row]) -> None:
    """A Markdown table with ratios against the fastest row of this run."""
    best_enqueue = max((row.enqueue for row in rows), default=0) or 1
    best_processed = max((row.processed for row in rows), default=0) or 1
    print("| engine | broker | enqueue/s | × fastest | processed/s | × fastest | idle CPU % | note |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for row in rows:
        if not row.enqueue:
            print(f"| {row.engine} | {row.broker} | – | – | – | – | – | {row.note} |")
            continue
        print(f"| {row.engine} | {row.broker} | {row.enqueue:,.0f} | {row.enqueue / best_enqueue:.2f} | "
              f"{row.processed:,.0f} | {row.processed / best_processed:.2f} | {row.idle_cpu:.1f} | {row.note} |")


def main() -> int:
    """Measure every engine on both brokers and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    parser.add_argument("--engines", nargs="*", default=list(ENGINES), choices=ENGINES)
    args = parser.parse_args()
    if importlib.util.find_spec("psutil") is None or importlib.util.find_spec("redis") is None:
        print("SKIP: psutil and redis are needed (pip install -e '.[bench]')")
        return 0
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        print(f"SKIP: Redis not reachable at {REDIS_URL} (the counter lives there)")
        return 0
    sys.path.insert(0, str(HERE))
    rows: list[Row] = []
    began = time.monotonic()
    with redis_cleanup(REDIS_URL), rabbitmq_vhost(AMQP_URL) as amqp:
        for engine in args.engines:
            for broker, url in (("redis", REDIS_URL), ("rabbitmq", amqp or AMQP_URL)):
                row = measure(engine, broker, url, args.tasks, args.idle_seconds)
                print(f"  {engine:8} {broker:8} enqueue {row.enqueue:8,.0f}/s  processed {row.processed:8,.0f}/s  "
                      f"idle CPU {row.idle_cpu:5.1f}%  {row.note}", flush=True)
                rows.append(row)
    print(f"\n{args.tasks} tasks per row, one worker process ({WORKER_THREADS} threads / async tasks), "
          f"{time.monotonic() - began:.0f} s in all\n")
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
