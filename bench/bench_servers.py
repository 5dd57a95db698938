"""API throughput with 1 and 2 server processes behind HAProxy (``deploy/haproxy.cfg``), as deployed.

Each row starts a fresh deployment: a PostgreSQL schema of its own, the Redis broker with a queue name of
its own, ``yorisoi run`` processes with the rule NLU (``tests/deploy/rule_run.py``: the real server, only
the trained model replaced, so the numbers are about the server, the database and the balancer, not the
encoder) and, in front, HAProxy with the shipped configuration (bind and server lines set for loopback).
No worker runs: these messages (greetings, "where and how" answers, a form) have no effects to perform.

``--clients`` concurrent residents (default 16), each with a sender id of its own and one keep-alive
connection, send messages one after another (a greeting, two answers, a form asked and answered) to the
JSON API for ``--seconds`` after a warm-up. Reported per row: requests per second, p50 and p95
latency seen by the client, errors; the CPU (% of one core) of the servers, of every PostgreSQL process
and of this load generator; the servers' CPU milliseconds per answered request; and how busy the whole
machine was (% of all cores, other jobs included). On a machine whose cores are all busy, a second
server process cannot add throughput; the CPU columns show where the time went.

Rows: one server reached directly (what the balancer costs), one server behind HAProxy (the baseline),
two servers behind HAProxy. HAProxy comes from Debian (``apt-get install haproxy``; installed here when
missing and this runs as root). Without it the two-server row is measured with client-side round
robin instead, and the table says so; a balancer written in Python would measure itself, not the servers.

Run: ``OMP_NUM_THREADS=1 python bench/bench_servers.py [--clients 16] [--seconds 20]``
(needs PostgreSQL and Redis on 127.0.0.1; ``YORISOI_TEST_POSTGRES_URL`` / ``YORISOI_TEST_REDIS_URL``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from tests.deploy.cluster import (  # noqa: E402
    POSTGRES_URL,
    REDIS_URL,
    Process,
    delete_redis_keys,
    free_port,
    new_deployment,
    postgres_reachable,
    postgres_schema,
    redis_reachable,
    start_haproxy,
    start_server,
    stop,
    unique_name,
    wait_healthy,
)

#: What each resident sends, round and round (rule NLU: greeting, two answers, a form asked and answered).
SCRIPT = ("hello", "juminhyo", "garbage day", "kita", "consultation desk")
WARM_UP_SECONDS = 3.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Setup:
    """One row: how many servers, and how clients reach them."""

    label: str
    servers: int
    balancer: bool


@dataclass(frozen=True)
class Result:
    """What one row measured."""

    setup: Setup
    requests: int
    errors: int
    seconds: float
    latencies_ms: tuple[float, ...]
    server_cpu: float
    client_cpu: float
    postgres_cpu: float
    machine_busy: float
    #: CPU milliseconds the servers spent per answered request (warm-up requests included).
    server_ms_per_request: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[int(share * (len(ordered) - 1))] if ordered else float("nan")


def combine(results: Sequence[Result]) -> Result:
    """Rounds of one row as one: requests and seconds added, latencies pooled, CPU shares averaged."""
    def mean(values: Sequence[float]) -> float:
        return sum(values) / len(values)

    return Result(results[0].setup, sum(r.requests for r in results), sum(r.errors for r in results),
                  sum(r.seconds for r in results), tuple(x for r in results for x in r.latencies_ms),
                  mean([r.server_cpu for r in results]), mean([r.client_cpu for r in results]),
                  mean([r.postgres_cpu for r in results]), mean([r.machine_busy for r in results]),
                  mean([r.server_ms_per_request for r in results]))


def haproxy_available() -> bool:
    """HAProxy on the PATH, installed from Debian's packages first when missing and running as root."""
    if shutil.which("haproxy"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing Debian's haproxy package ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        installed = subprocess.run(["apt-get", "install", "-y", "-qq", "haproxy"], env=env, capture_output=True,
                                   check=False)
        if installed.returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, check=False)
            subprocess.run(["apt-get", "install", "-y", "-qq", "haproxy"], env=env, capture_output=True, check=False)
    return shutil.which("haproxy") is not None


def machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores so far (/proc/stat): PostgreSQL and other jobs included."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL process (all its clients, not only this benchmark's), by pid."""
    seconds: dict[int, float] = {}
    for folder in Path("/proc").iterdir():
        if not folder.name.isdigit():
            continue
        try:
            if (folder / "comm").read_text().strip() != "postgres":
                continue
            fields = (folder / "stat").read_text().rsplit(")", 1)[1].split()
            seconds[int(folder.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        except (OSError, ValueError, IndexError):
            continue
    return seconds


def postgres_cpu_since(before: dict[int, float]) -> float:
    """PostgreSQL CPU seconds since ``before`` (connections that closed meanwhile are not counted)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in postgres_cpu_seconds().items())


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its descendants so far (Linux /proc)."""
    total, pending, seen = 0.0, [pid], set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue  # the process ended meanwhile
    return total


async def resident(urls: Sequence[str], number: int, stop_at: float, record_from: float,
                   latencies: list[float], errors: list[int]) -> None:
    """One resident: messages one after another; with several ``urls``, alternately to each (client-side)."""
    sender = f"bench-resident-{number:04d}-{os.getpid()}"
    clients = [httpx.AsyncClient(base_url=url, timeout=60) for url in urls]
    try:
        sent = 0
        while time.monotonic() < stop_at:
            client = clients[(number + sent) % len(clients)]
            body = {"bot": "city_hall", "sender": sender, "text": SCRIPT[sent % len(SCRIPT)], "lang": "en"}
            started = time.monotonic()
            try:
                response = await client.post("/api/v1/messages", json=body)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if started >= record_from:
                if ok:
                    latencies.append(1000 * (time.monotonic() - started))
                else:
                    errors.append(1)
            sent += 1
    finally:
        for client in clients:
            await client.aclose()


async def load(urls: Sequence[str], clients: int, seconds: float) -> tuple[list[float], int, float]:
    """Latencies (ms) and errors of the requests started in the measured window, and its length."""
    latencies: list[float] = []
    errors: list[int] = []
    record_from = time.monotonic() + WARM_UP_SECONDS
    stop_at = record_from + seconds
    await asyncio.gather(*(resident(urls, number, stop_at, record_from, latencies, errors)
                           for number in range(clients)))
    return latencies, len(errors), seconds


def measure(setup: Setup, clients: int, seconds: float, folder: Path) -> Result:
    """Start the row's deployment, load it, stop it."""
    queue = unique_name("yorisoi_bench")
    with postgres_schema() as database_url:
        deployment = new_deployment(folder, database_url, REDIS_URL, queue)
        servers = [start_server(deployment, free_port(), folder, seconds=600) for _ in range(setup.servers)]
        proxy: Process | None = None
        try:
            for server in servers:
                wait_healthy(server)
            if setup.balancer:
                ports = [int(str(server.url).rsplit(":", 1)[1]) for server in servers]
                proxy = start_haproxy(ports, folder, seconds=600)
                wait_healthy(proxy)
            urls = [str(proxy.url)] if proxy else [str(server.url) for server in servers]
            server_before = sum(tree_cpu_seconds(server.popen.pid) for server in servers)
            client_before = time.process_time()
            machine_before = machine_ticks()
            postgres_before = postgres_cpu_seconds()
            started = time.monotonic()
            latencies, errors, measured = asyncio.run(load(urls, clients, seconds))
            elapsed = time.monotonic() - started
            server_cpu = sum(tree_cpu_seconds(server.popen.pid) for server in servers) - server_before
            client_cpu = time.process_time() - client_before
            postgres_cpu = postgres_cpu_since(postgres_before)
            answered = sum(server.count('"POST /api/v1/messages') for server in servers)
            busy, total = (after - before for after, before in zip(machine_ticks(), machine_before, strict=True))
        finally:
            if proxy is not None:
                stop(proxy)
            for server in servers:
                stop(server)
            delete_redis_keys(REDIS_URL, queue)
    # CPU is over the whole run (warm-up included), as % of one core.
    return Result(setup, len(latencies), errors, measured, tuple(latencies), 100 * server_cpu / elapsed,
                  100 * client_cpu / elapsed, 100 * postgres_cpu / elapsed, 100 * busy / max(total, 1),
                  1000 * server_cpu / max(answered, 1))


def main() -> int:
    """Print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent residents (default 16)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per row (default 20)")
    parser.add_argument("--rounds", type=int, default=1, help="measure every row this often, interleaved (default 1)")
    args = parser.parse_args()
    if not postgres_reachable() or not redis_reachable():
        print(f"SKIP: needs PostgreSQL ({POSTGRES_URL}) and Redis ({REDIS_URL})")
        return 0
    balancer = haproxy_available()
    if balancer:
        setups = [Setup("1 server, direct", 1, False), Setup("1 server behind HAProxy", 1, True),
                  Setup("2 servers behind HAProxy", 2, True)]
    else:
        print("note: HAProxy is not installed and cannot be installed here: the 2-server row uses "
              "client-side round robin (each resident alternates between the servers), not a balancer")
        setups = [Setup("1 server, direct", 1, False), Setup("2 servers, client-side round robin", 2, False)]
    rounds: dict[Setup, list[Result]] = {setup: [] for setup in setups}
    with tempfile.TemporaryDirectory(prefix="yorisoi-bench-servers-") as folder:
        for round_number in range(args.rounds):  # rows interleaved, so each sees the machine's other load alike
            for number, setup in enumerate(setups):
                print(f"measuring: {setup.label} (round {round_number + 1}/{args.rounds}) ...", flush=True)
                rounds[setup].append(measure(setup, args.clients, args.seconds,
                                             Path(folder) / f"row{number}-{round_number}"))
    results = [combine(measured) for measured in rounds.values()]
    baseline = results[1] if balancer else results[0]
    print()
    print(f"{args.clients} concurrent residents, {args.rounds} × {args.seconds:.0f} s per row after "
          f"{WARM_UP_SECONDS:.0f} s of warm-up each, rule NLU, PostgreSQL + Redis on this machine "
          f"({os.cpu_count()} cores)")
    print()
    print("| setup | req/s | × baseline | p50 ms | p95 ms | errors | servers' CPU % | server CPU ms/request "
          "| PostgreSQL CPU % | load generator CPU % | machine busy % |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for result in results:
        ratio = result.per_second / baseline.per_second
        marker = " (baseline)" if result is baseline else ""
        print(f"| {result.setup.label}{marker} | {result.per_second:,.0f} | {ratio:.2f} | {result.percentile(0.5):.1f} "
              f"| {result.percentile(0.95):.1f} | {result.errors} | {result.server_cpu:.0f} "
              f"| {result.server_ms_per_request:.1f} | {result.postgres_cpu:.0f} | {result.client_cpu:.0f} "
              f"| {result.machine_busy:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
