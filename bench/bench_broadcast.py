"""A broadcast to N LINE followers through ``yorisoi worker`` processes against a rate-limited, failing fake LINE.

Each row is a fresh deployment: a PostgreSQL schema of its own (migrated, then N active LINE
conversations of ``city_hall`` seeded straight into ``conversations`` and ``conversation_states`` with
a mix of ten languages), a fake LINE API (``bench/fake_line_api.py``: R requests/s admitted, 429 with
``Retry-After`` beyond, optional 500s before and after accepting, 409 for a retry key seen before)
and two real ``yorisoi worker`` processes (Dramatiq on Redis, a queue of their own) whose LINE
credentials and API base point at the fake. This process queues one disaster alert to every
follower (:meth:`NotificationService.send`, which enqueues ``deliver_notifications``) and waits until
no delivery is queued or being sent.

Rows (the first is the baseline of the same run):

* ``baseline``: no faults, no kill; our ``multicast_rate_per_second`` = R;
* ``faults + kill -9``: 3% of calls answered 500, 2% sent but answered 500 (lost answer); one worker's
  process group killed with SIGKILL when 40% of the recipients were reached, restarted at once;
* ``faults, our limit 2R``: the same faults, our limiter set to twice the fake's rate (429s pace us);
* ``no limit (our ceiling)``: no faults, the fake and our limiter at LINE's 200 calls/s: what our code and
  this machine can do at most.

Reported per row: recipients, seconds from queueing to the first accepted call, to the last recipient
reached and to done (nothing queued or sending in SQL), recipients/s (over "done"), the allowed rate
(R × 500) and their ratio, the calls the fake admitted per second as a share of R (how much of the limit
was used, the second call of a batch hit by a 500 included), calls by outcome, batches sent after a
retry, duplicates (recipients the fake counted more than once), lost (counted zero, or someone it was
not sent to) and the deliveries by status in SQL. The exit status is 1 when any row has a duplicate, a
lost recipient, a transcript message written twice or a delivery not ``sent``.

Run: ``OMP_NUM_THREADS=1 python bench/bench_broadcast.py [--recipients 100000] [--rate 2]
[--rows baseline,kill,over,ceiling] [--retry 5,8]`` (``--retry`` replaces ``notifications.retry_seconds``
and ``max_attempts`` of config.yml). ``--recipients 5000 --rows baseline,kill`` is a smoke check of about
two minutes. Needs PostgreSQL and Redis on 127.0.0.1 (``YORISOI_TEST_POSTGRES_URL``,
``BENCH_BROADCAST_REDIS_URL``, default database 14).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import redis  # noqa: E402
import yaml  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from tests.deploy.cluster import (  # noqa: E402
    Deployment,
    Process,
    delete_redis_keys,
    free_port,
    new_deployment,
    postgres_reachable,
    postgres_schema,
    redis_reachable,
    start,
    stop,
    unique_name,
    wait_for_output,
    yorisoi_command,
)

REDIS_URL = os.environ.get("BENCH_BROADCAST_REDIS_URL", "redis://127.0.0.1:6379/14")
BOT = "city_hall"
TOKEN = "bench-line-token"
#: The followers' languages, in percent (a city's mix: mostly Japanese, then its largest communities).
LANGUAGES = (("ja", 55), ("en", 10), ("zh-Hans", 8), ("vi", 7), ("ko", 5), ("pt", 4), ("tl", 3), ("ne", 3),
             ("ja-x-easy", 3), ("es", 2))
#: Curated texts; the other languages get the fallback (English).
TEXTS = {
    "ja": "【避難指示】川沿いの地域の方は避難所へ移動してください。",
    "ja-x-easy": "にげて ください。かわの ちかくの ひとは ひなんじょへ いって ください。",
    "en": "Evacuation order: residents near the river, please move to a shelter.",
    "zh-Hans": "避难指示：河流附近的居民请前往避难所。",
    "vi": "Lệnh sơ tán: cư dân gần sông hãy đến nơi sơ tán.",
    "ko": "대피 지시: 강 근처 주민은 대피소로 이동하세요.",
}
WORKERS = 2
KILL_AT_SHARE = 0.4
POLL_SECONDS = 0.25
#: The workers run their first periodic tasks (and build their components) before the broadcast is queued,
#: as long-running workers of a deployment have.
WARM_UP_SECONDS = 8.0
#: A row is abandoned when nothing was delivered for this long.
STALL_SECONDS = 300.0


@dataclass(frozen=True)
class Scenario:
    """One row: the fake's faults, our limiter against the fake's rate, whether a worker is killed."""

    name: str
    label: str
    errors: float = 0.0
    lost: float = 0.0
    our_rate_factor: int = 1
    kill: bool = False
    #: The fake's rate instead of ``--rate`` (and ours: LINE's 200 calls/s), to find our own ceiling.
    unlimited: bool = False


SCENARIOS = {
    "baseline": Scenario("baseline", "baseline (no faults, no kill)"),
    "kill": Scenario("kill", "faults + kill -9", errors=0.03, lost=0.02, kill=True),
    "over": Scenario("over", "faults, our limit 2R", errors=0.03, lost=0.02, our_rate_factor=2),
    "ceiling": Scenario("ceiling", "no limit (our ceiling)", unlimited=True),
}
#: LINE's own limit on multicast calls per second (the highest ``multicast_rate_per_second`` accepts).
LINE_MULTICAST_RATE = 200


@dataclass
class Result:
    """What one row measured."""

    scenario: Scenario
    recipients: int
    rate: int
    seconds: float
    outcomes: Counter[str]
    duplicates: int
    lost: int
    strangers: int
    transcript_duplicates: int
    statuses: Counter[str]
    min_calls: int
    retried_batches: int
    #: Seconds from queueing to the first call the fake accepted, and to the last recipient reached.
    first_call: float
    all_reached: float
    killed_at: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.recipients / self.seconds if self.seconds else 0.0

    @property
    def allowed(self) -> int:
        return self.rate * 500

    @property
    def call_share(self) -> float:
        """Calls the fake admitted (all but its 429s) per second, as a share of its rate: how much of the limit
        was used, retries included (every batch hit by a 500 costs a second call)."""
        admitted = sum(self.outcomes.values()) - self.outcomes.get("429", 0)
        return admitted / self.seconds / self.rate if self.seconds else 0.0

    @property
    def ok(self) -> bool:
        return (self.duplicates == 0 and self.lost == 0 and self.strangers == 0 and self.transcript_duplicates == 0
                and self.statuses.get("sent", 0) == self.recipients)


def seed(database_url: str, recipients: int) -> int:
    """Migrate, then insert ``recipients`` active LINE followers of ``city_hall`` with a mix of languages;
    returns the fewest multicast calls they need (batches hold one language)."""
    from bot.storage.database import create_database_engine, upgrade_database

    database = create_database_engine(database_url)
    try:
        upgrade_database(database)
        cases, start_at = [], 0
        for code, share in LANGUAGES:
            cases.append(f"WHEN i % 100 < {start_at + share} THEN '{code}'")
            start_at += share
        language = f"CASE {' '.join(cases)} END"
        with database.begin() as connection:
            connection.execute(text(
                "INSERT INTO conversations (id, bot, channel, sender, active, created_at, updated_at) "
                "SELECT md5('c' || i), :bot, 'line', 'U' || md5('u' || i), true, now(), now() "
                "FROM generate_series(1, :n) AS i"), {"bot": BOT, "n": recipients})
            connection.execute(text(
                "INSERT INTO conversation_states (conversation_id, language, language_source, slots, misses, mode, "
                f"version, updated_at) SELECT md5('c' || i), {language}, 'explicit', '{{}}', 0, 'bot', 0, now() "
                "FROM generate_series(1, :n) AS i"), {"n": recipients})
            connection.execute(text("ANALYZE"))
            per_language = connection.execute(text(
                "SELECT count(*) FROM conversation_states GROUP BY language")).scalars().all()
        return sum(-(-int(count) // 500) for count in per_language)
    finally:
        database.dispose()


def configure(deployment: Deployment, rate: int, retry: tuple[float, int] | None = None) -> None:
    """The deployment's config.yml with our multicast limit, no machine translation (no model installed) and,
    when given, ``notifications.retry_seconds`` and ``max_attempts``."""
    data = yaml.safe_load(deployment.config_path.read_text(encoding="utf-8"))
    data["notifications"]["machine_translation"] = False
    if retry is not None:
        data["notifications"]["retry_seconds"], data["notifications"]["max_attempts"] = retry
    data["connectors"]["line"]["multicast_rate_per_second"] = rate
    deployment.config_path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def worker_env(deployment: Deployment, fake_url: str) -> dict[str, str]:
    """What a worker needs: the deployment's variables and the LINE channel pointed at the fake."""
    return {**deployment.environ(), f"LINE_{BOT.upper()}_CHANNEL_SECRET": "bench-secret",
            f"LINE_{BOT.upper()}_ACCESS_TOKEN": TOKEN, "LINE_API_BASE": fake_url, "LINE_DATA_API_BASE": fake_url}


def start_worker(env: dict[str, str], log: Path) -> Process:
    """One ``yorisoi worker`` (its default: one Dramatiq process, 8 threads, the scheduler) in its own group."""
    process = start("worker", [*yorisoi_command(), "worker"], env, log, seconds=1800)
    wait_for_output(process, "yorisoi worker:", timeout=60)
    return process


def kill_group(process: Process) -> None:
    """SIGKILL to the worker's whole process group (the Dramatiq processes and the scheduler)."""
    with suppress(ProcessLookupError):
        os.killpg(process.popen.pid, signal.SIGKILL)
    process.popen.wait(timeout=10)


def queue_broadcast(deployment: Deployment) -> int:
    """Queue the disaster alert to every follower of ``city_hall`` as the broadcasts API does; its id."""
    from bot.config import load_config
    from bot.enums import NotificationKind
    from bot.notifications import NotificationService, NotificationSettings
    from bot.notifications.store import NotificationStore
    from bot.notifications.types import Audience, NotificationContent
    from bot.storage.database import create_database_engine, session_factory
    from bot.tasks import TaskNotifier
    from translations.catalog import Catalog

    config = load_config(deployment.config_path, deployment.environ())
    database = create_database_engine(deployment.database_url)
    catalog = Catalog.load()
    assert deployment.broker_url is not None
    notifier = TaskNotifier(deployment.broker_url, deployment.queue, "deliver_notifications")
    service = NotificationService(NotificationStore(session_factory(database), config.default_language),
                                  lambda: catalog, None, NotificationSettings.from_config(config),
                                  on_queued=notifier.send_now)
    try:
        receipt = service.send(NotificationKind.DISASTER, Audience(BOT, channels=("line",)),
                               NotificationContent.curated(TEXTS), "bench")
    finally:
        database.dispose()
    assert receipt.id is not None
    return receipt.id


def delivery_counts(database_url: str, notification_id: int) -> Counter[str]:
    """The notification's deliveries by status."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT status, count(*) FROM deliveries WHERE notification_id = :n "
                                           "GROUP BY status"), {"n": notification_id}).all()
        return Counter({str(status): int(count) for status, count in rows})
    finally:
        engine.dispose()


def final_checks(database_url: str, notification_id: int) -> tuple[list[str], int, int]:
    """Every follower's LINE id, conversations with more than one transcript message, batches sent after a retry."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            senders = list(connection.execute(text(
                "SELECT sender FROM conversations WHERE bot = :bot AND active"), {"bot": BOT}).scalars())
            doubled = connection.execute(text(
                "SELECT count(*) FROM (SELECT conversation_id FROM messages WHERE out_of_turn "
                "GROUP BY conversation_id HAVING count(*) > 1) AS doubled")).scalar_one()
            retried = connection.execute(text(
                "SELECT count(DISTINCT batch) FROM deliveries WHERE notification_id = :n AND attempts > 1"),
                {"n": notification_id}).scalar_one()
        return [str(sender) for sender in senders], int(doubled), int(retried)
    finally:
        engine.dispose()


@contextmanager
def fake_line(folder: Path, rate: int, scenario: Scenario) -> Iterator[str]:
    """The fake LINE API (``bench/fake_line_api.py``) on a free port; its base URL."""
    port = free_port()
    process = start("fake-line", [sys.executable, str(REPO / "bench" / "fake_line_api.py"), "--port", str(port),
                                  "--token", TOKEN, "--rate", str(rate), "--errors", str(scenario.errors),
                                  "--lost", str(scenario.lost)], dict(os.environ), folder / "fake-line.log",
                    seconds=1800)
    try:
        wait_for_output(process, "fake LINE ready", timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def measure(scenario: Scenario, recipients: int, rate: int, folder: Path,
            retry: tuple[float, int] | None = None) -> Result:
    """One row (see the module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    queue = unique_name("bench_broadcast")
    if scenario.unlimited:
        rate = LINE_MULTICAST_RATE
    with postgres_schema() as database_url, fake_line(folder, rate, scenario) as fake_url:
        min_calls = seed(database_url, recipients)
        deployment = new_deployment(folder, database_url, REDIS_URL, queue)
        configure(deployment, rate * scenario.our_rate_factor, retry)
        limits = redis.Redis.from_url(REDIS_URL)
        for key in limits.scan_iter("LIMITS:*line-multicast*"):  # a window left by an earlier row
            limits.delete(key)
        env = worker_env(deployment, fake_url)
        workers = [start_worker(env, folder / f"worker-{number}.log") for number in range(WORKERS)]
        killed_at: float | None = None
        try:
            time.sleep(WARM_UP_SECONDS)
            began, began_wall = time.monotonic(), time.time()
            notification_id = queue_broadcast(deployment)
            progress_at, reached = began, 0
            while True:
                counts = delivery_counts(database_url, notification_id)
                if counts.get("queued", 0) + counts.get("sending", 0) == 0:
                    seconds = time.monotonic() - began
                    break
                now_reached = httpx.get(f"{fake_url}/__progress", timeout=10).json()["recipients_reached"]
                if now_reached != reached:
                    progress_at, reached = time.monotonic(), now_reached
                elif time.monotonic() - progress_at > STALL_SECONDS:
                    raise RuntimeError(f"{scenario.name}: nothing delivered for {STALL_SECONDS:.0f} s ({counts})")
                if scenario.kill and killed_at is None and reached >= KILL_AT_SHARE * recipients:
                    killed_at = time.monotonic() - began
                    kill_group(workers[0])
                    workers[0] = start_worker(env, folder / "worker-0-restarted.log")
                time.sleep(POLL_SECONDS)
            stats = httpx.get(f"{fake_url}/__stats", timeout=30).json()
        finally:
            for worker in workers:
                stop(worker)
            delete_redis_keys(REDIS_URL, queue)
            limits.close()
        senders, doubled, retried = final_checks(database_url, notification_id)
        statuses = delivery_counts(database_url, notification_id)
    reached_counts: dict[str, int] = stats["reached"]
    expected = set(senders)
    return Result(scenario, recipients, rate, seconds, Counter(stats["outcomes"]),
                  duplicates=sum(1 for count in reached_counts.values() if count > 1),
                  lost=sum(1 for sender in expected if reached_counts.get(sender, 0) == 0),
                  strangers=sum(1 for sender in reached_counts if sender not in expected),
                  transcript_duplicates=doubled, statuses=statuses, min_calls=min_calls, retried_batches=retried,
                  first_call=(stats["first_accepted"] or began_wall) - began_wall,
                  all_reached=(stats["last_accepted"] or began_wall) - began_wall, killed_at=killed_at)


def print_table(results: list[Result]) -> None:
    """The rows, then the ratio of each row's throughput to the baseline's."""
    header = ("row", "recipients", "1st call s", "all reached s", "done s", "recip/s", "allowed/s", "ratio",
              "calls/s used", "calls", "min calls", "200", "429", "500", "500 lost", "409", "retried", "dup", "lost",
              "SQL sent/failed/skipped/pending")
    lines = [header]
    for result in results:
        out, statuses = result.outcomes, result.statuses
        lines.append((
            result.scenario.label, f"{result.recipients:,}", f"{result.first_call:.1f}", f"{result.all_reached:.1f}",
            f"{result.seconds:.1f}", f"{result.per_second:,.0f}",
            f"{result.allowed:,}", f"{result.per_second / result.allowed:.0%}", f"{result.call_share:.0%}",
            str(sum(out.values())),
            str(result.min_calls), str(out.get("200", 0)), str(out.get("429", 0)), str(out.get("500", 0)),
            str(out.get("500 lost", 0)), str(out.get("409", 0)), str(result.retried_batches),
            str(result.duplicates), str(result.lost + result.strangers),
            f"{statuses.get('sent', 0)}/{statuses.get('failed', 0)}/{statuses.get('skipped', 0)}/"
            f"{statuses.get('queued', 0) + statuses.get('sending', 0)}"))
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    for number, line in enumerate(lines):
        print("  ".join(cell.rjust(width) if column else cell.ljust(width)
                        for column, (cell, width) in enumerate(zip(line, widths, strict=True))))
        if number == 0:
            print("  ".join("-" * width for width in widths))
    base = results[0]
    for result in results:
        extra = f", worker killed at {result.killed_at:.1f} s" if result.killed_at is not None else ""
        doubled = f", {result.transcript_duplicates} transcripts doubled" if result.transcript_duplicates else ""
        print(f"{result.scenario.label}: {result.per_second / base.per_second:.2f}× the baseline's recipients/s"
              f"{extra}{doubled}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=2, help="multicast calls per second the fake LINE admits")
    parser.add_argument("--rows", default="baseline,kill,over", help=f"comma-separated: {', '.join(SCENARIOS)}")
    parser.add_argument("--retry", default=None, metavar="SECONDS,ATTEMPTS",
                        help="notifications.retry_seconds and max_attempts instead of config.yml's (e.g. 5,8)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the workers' logs (printed folder)")
    args = parser.parse_args()
    if not postgres_reachable() or not redis_reachable(REDIS_URL):
        print("bench_broadcast: PostgreSQL and Redis must run on 127.0.0.1", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="bench_broadcast_"))
    retry = None
    if args.retry:
        seconds, attempts = args.retry.split(",")
        retry = (float(seconds), int(attempts))
    results = []
    for name in args.rows.split(","):
        scenario = SCENARIOS[name.strip()]
        print(f"… {scenario.label}: {args.recipients:,} recipients, fake LINE at {args.rate} calls/s", flush=True)
        row_folder = folder / f"{scenario.name}-{uuid.uuid4().hex[:6]}"
        results.append(measure(scenario, args.recipients, args.rate, row_folder, retry))
    print()
    print_table(results)
    if args.keep_logs:
        print(f"logs: {folder}")
    else:
        subprocess.run(["rm", "-rf", str(folder)], check=False)
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
