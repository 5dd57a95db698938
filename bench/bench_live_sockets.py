"""500 idle widget WebSockets: the server's CPU, and how fast a staff message reaches the widget.

Each row starts fresh server processes (uvicorn, the real app with the rule NLU so no model loads; the
desk open at any hour) on a new database, then, from this process:

1. ``--messages`` residents ask for staff on the staff's server and a member of staff (console API,
   bearer token) claims each conversation;
2. ``--sockets`` widget WebSockets connect to the widgets' server and say hello (the first
   ``--messages`` are those residents; the rest are residents who only have the widget open);
3. after a settling pause, the widgets' server's CPU (user + system, from ``/proc``) is measured while
   nothing happens: % of one core. The window is ``--idle-seconds``, by default 20 s without wake-ups and
   150 s with them (1.25 × the connections' own 120 s poll, so each connection's poll falls inside it once;
   the processes' 2 s look at SQL many times);
4. one after another, staff post ``--messages`` messages (``POST /api/v1/handoffs/{id}/messages``) with a
   random pause of 0.1–2.1 s between them (longer than the 2 s look at SQL, so a message does not
   always follow the previous one's look); the latency is from sending the POST to the push frame
   arriving on that resident's socket (p50, p95, max).

Rows (same run, same machine):

* **before**: ``YORISOI_LIVE_WAKEUPS=off`` — every socket asks SQL once a second, as before wake-ups;
* **in-process**: the embedded default (``make run``): one process, a commit wakes its sockets;
* **Redis, 2 servers**: staff use server A, the widgets are connected to server B, both on one database and
  ``YORISOI_REDIS_URL`` (a pub/sub channel of this run's own); CPU is server B's;
* **SQL look, 2 servers, no Redis**: the same two servers without Redis: B finds A's writes in its
  per-process look at SQL (every 2 s).

``--database sqlite`` (default; a file shared by both servers) or ``postgresql`` (a schema of its own on
``YORISOI_TEST_POSTGRES_URL``). The machine is shared with other jobs; the CPU of the server process is its
own, the latencies include waiting for a busy core.

Run: ``OMP_NUM_THREADS=1 python bench/bench_live_sockets.py [--sockets 500] [--messages 50]
[--idle-seconds S] [--database sqlite|postgresql] [--rows before,in-process,redis,sql-look]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402

from bot.live import DEFAULT_POLL_SECONDS  # noqa: E402

REDIS_URL = os.environ.get("YORISOI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get("YORISOI_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
STAFF_USER, STAFF_PASSWORD = "bench-staff", "bench-password-1"
BOT = "city_hall"
START_SECONDS = 180.0
PUSH_TIMEOUT_SECONDS = 10.0
#: The idle window without wake-ups (its cost is the same every second).
BASELINE_IDLE_SECONDS = 20.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the server process: ``python bench/bench_live_sockets.py --serve PORT`` --------------------------------


def serve(port: int) -> None:
    """The app from the environment's configuration, with the rule NLU, the desk open and a staff account."""
    import uvicorn

    from bot.app import build_components, create_app
    from bot.config import load_config
    from bot.testing import standard_nlu

    config = load_config()
    config = config.model_copy(update={"handoff": config.handoff.model_copy(update={"always_open": True})})
    components = build_components(config, nlu=standard_nlu())
    components.accounts.create_user(STAFF_USER, STAFF_PASSWORD, "staff", display_name="Bench", language="en",
                                    replace=True)
    print(f"live: {type(components.live).__name__} poll {components.live.poll_seconds:g} s", flush=True)
    uvicorn.run(create_app(config, components=components), host="127.0.0.1", port=port, log_level="warning")


# --- the load generator -----------------------------------------------------------------------------------------


@dataclass
class Server:
    """A server process of a row."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def ws(self) -> str:
        return self.url.replace("http", "ws", 1)

    def cpu_seconds(self) -> float:
        """User + system CPU of the process (all its threads) so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass
class Row:
    name: str
    idle_seconds: float = 0.0
    idle_cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)
    #: How long the staff's POST itself took (the latency includes it).
    posts: list[float] = field(default_factory=list)
    lost: int = 0
    note: str = ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def start_server(env: Mapping[str, str], folder: Path, name: str) -> Iterator[Server]:
    port = free_port()
    log = folder / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], cwd=REPO, env={**env},
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server {name} did not start:\n{log.read_text(errors='replace')[-2000:]}")
            with suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        yield server
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@dataclass
class Widget:
    """One widget's WebSocket and the push frames it received."""

    sender: str
    ws: ClientConnection
    pushes: asyncio.Queue[float] = field(default_factory=asyncio.Queue)

    async def read(self) -> None:
        with suppress(Exception):
            async for raw in self.ws:
                if json.loads(raw).get("type") == "push":
                    self.pushes.put_nowait(time.perf_counter())


async def open_widget(server: Server, sender: str) -> Widget:
    ws = await connect(f"{server.ws}/ws/chat", open_timeout=30, max_queue=64)
    await ws.send(json.dumps({"type": "hello", "bot": BOT, "sender": sender}))
    ready = json.loads(await asyncio.wait_for(ws.recv(), 30))
    assert ready == {"type": "ready"}, ready
    return Widget(sender, ws)


async def measure(row: Row, staff_server: Server, widget_server: Server, sockets: int, messages: int) -> None:
    async with httpx.AsyncClient(base_url=staff_server.url, timeout=30) as http:
        residents = [secrets.token_hex(16) for _ in range(messages)]
        for sender in residents:
            answered = await http.post("/api/v1/messages", json={"bot": BOT, "sender": sender,
                                                                  "text": "staff please", "lang": "en"})
            answered.raise_for_status()
        login = await http.post("/api/v1/auth/login", json={"username": STAFF_USER, "password": STAFF_PASSWORD})
        login.raise_for_status()
        http.headers["authorization"] = f"Bearer {login.json()['token']}"
        handoffs = {h["sender"]: h["id"] for h in (await http.get("/api/v1/handoffs")).json()["handoffs"]}
        for sender in residents:
            (await http.post(f"/api/v1/handoffs/{handoffs[sender]}/claim", json={})).raise_for_status()

        senders = residents + [secrets.token_hex(16) for _ in range(sockets - messages)]
        widgets: list[Widget] = []
        for start in range(0, len(senders), 50):  # connect in waves (like page loads), not all in one instant
            widgets += await asyncio.gather(*(open_widget(widget_server, s) for s in senders[start:start + 50]))
        readers = [asyncio.create_task(widget.read()) for widget in widgets]
        await asyncio.sleep(3)  # the join notices of the claims arrive; every socket settles
        for widget in widgets:
            while not widget.pushes.empty():
                widget.pushes.get_nowait()

        before, clock = widget_server.cpu_seconds(), time.monotonic()
        await asyncio.sleep(row.idle_seconds)
        row.idle_cpu = 100 * (widget_server.cpu_seconds() - before) / (time.monotonic() - clock)

        for number, widget in enumerate(widgets[:messages]):
            await asyncio.sleep(random.uniform(0.1, 2.1))
            sent = time.perf_counter()
            posted = await http.post(f"/api/v1/handoffs/{handoffs[widget.sender]}/messages",
                                     json={"text": f"Message {number} from the desk."})
            posted.raise_for_status()
            row.posts.append(1000 * (time.perf_counter() - sent))
            try:
                arrived = await asyncio.wait_for(widget.pushes.get(), PUSH_TIMEOUT_SECONDS)
                row.latencies.append(1000 * (arrived - sent))
            except TimeoutError:
                row.lost += 1
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*(widget.ws.close() for widget in widgets), return_exceptions=True)


def database_for(kind: str, folder: Path) -> tuple[str, Any]:
    """The database URL of a row and how to drop it afterwards."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}", lambda: None
    from sqlalchemy import create_engine, text

    schema = f"bench_live_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}", drop


def run_row(name: str, args: argparse.Namespace) -> Row:
    idle = args.idle_seconds or (BASELINE_IDLE_SECONDS if name == "before" else 1.25 * DEFAULT_POLL_SECONDS)
    row = Row(name, idle_seconds=idle)
    with tempfile.TemporaryDirectory(prefix="bench-live-") as tmp:
        folder = Path(tmp)
        url, drop = database_for(args.database, folder)
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("YORISOI_LIVE", "YORISOI_REDIS", "YORISOI_BROKER"))}
        env.update({"YORISOI_DATABASE_URL": url, "YORISOI_DATA_DIR": str(folder / "var"), "PYTHONPATH": str(REPO),
                    "OMP_NUM_THREADS": "1"})
        queue = f"bench_live_{uuid.uuid4().hex[:8]}"
        if name == "before":
            env.update({"YORISOI_LIVE_WAKEUPS": "off", "YORISOI_LIVE_POLL_SECONDS": "1"})
        elif name == "redis":
            env.update({"YORISOI_REDIS_URL": REDIS_URL, "YORISOI_TASK_QUEUE": queue})
        try:
            with start_server(env, folder, "a") as first:
                if name in ("redis", "sql-look"):
                    with start_server(env, folder, "b") as second:
                        asyncio.run(measure(row, first, second, args.sockets, args.messages))
                else:
                    asyncio.run(measure(row, first, first, args.sockets, args.messages))
        finally:
            drop()
    return row


LABELS = {
    "before": "before: each socket asks SQL every 1 s",
    "in-process": "wake-ups in one process (embedded)",
    "redis": "Redis pub/sub: staff on server A, widgets on B",
    "sql-look": "no Redis: B's look at SQL every 2 s finds A's writes",
}


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    base = next((row for row in rows if row.name == "before"), None)
    print(f"\n{args.sockets} idle widget WebSockets, {args.messages} staff messages, {args.database}, "
          f"{os.cpu_count()} cores (shared)\n")
    print("| mode | idle server CPU % of a core (window) | × before | staff → widget p50 ms | p95 ms | max ms "
          "| × before (p95) | lost |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        p50, p95 = percentile(row.latencies, 0.5), percentile(row.latencies, 0.95)
        cpu_ratio = f"{row.idle_cpu / base.idle_cpu:.2f}" if base and base.idle_cpu else "–"
        p95_ratio = f"{p95 / percentile(base.latencies, 0.95):.2f}" if base and base.latencies else "–"
        print(f"| {LABELS[row.name]} | {row.idle_cpu:.1f} ({row.idle_seconds:.0f} s) | {cpu_ratio} | {p50:.0f} "
              f"| {p95:.0f} | {max(row.latencies, default=float('nan')):.0f} | {p95_ratio} | {row.lost} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--idle-seconds", type=float, default=None)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rows", default="before,in-process,redis,sql-look")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    if args.messages > args.sockets:
        parser.error("--messages must not exceed --sockets")
    rows = []
    for name in args.rows.split(","):
        if name not in LABELS:
            parser.error(f"unknown row {name!r}; choose from {', '.join(LABELS)}")
        print(f"running {name} ...", flush=True)
        rows.append(run_row(name, args))
        row = rows[-1]
        print(f"  idle CPU {row.idle_cpu:.1f}%  p50 {statistics.median(row.latencies or [float('nan')]):.0f} ms"
              f"  p95 {percentile(row.latencies, 0.95):.0f} ms  lost {row.lost}"
              f"  (the POST itself: p50 {percentile(row.posts, 0.5):.0f} ms)", flush=True)
    print_table(rows, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
