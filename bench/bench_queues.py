"""A simulated day at the ward offices: ingest rate, event → notification latency, wait-estimate error.

The issue's day is 10 offices × 4 windows × 800 tickets and 20,000 subscribers; ``--scale`` (default
0.1) shrinks tickets and subscribers so a run takes a few minutes on this 2-core machine.

1. **Simulation** (offline, seeded): per window, arrivals over 08:30-17:15 with a morning peak,
   FIFO service by ``c`` counters (one goes to lunch 12:00-13:00), log-normal service times whose
   mean differs per window and office, staffing between 75 % and 105 % of the day's demand. Each
   ticket gives ``issued``, ``called`` (with its counter) and ``served`` events; every counter gives
   ``counter_open`` / ``counter_closed``.
2. **Replay** in time order as fast as possible (compressed), through the real HTTP ingest API of a
   uvicorn server (the whole app with its background loops), one client. A subscriber subscribes
   30 s after taking their ticket (as the ``queue.subscribe`` effect does). The app's clock follows
   the simulated time.
3. **Reported**: events/s through HTTP, one event per request and (on a fresh database) in batches
   of ``--batch`` events per request as a machine sends its backlog, and in-process without HTTP
   (the ratio's baseline); wall time of the ingest requests that queued notices (event → notifications
   handed to the notification service), p50/p95; the mean absolute error of the expected wait
   given when each ticket is issued vs the wait it really had, for our estimator (servers and
   service times, see ``services/queue/estimate.py``) and two naive ones: people ahead × the day's
   average service time so far, and × a constant 5 minutes.

Run: ``python bench/bench_queues.py [--scale 0.1] [--batch 100] [--seed 7] [--database-url SERVER]``
(``SERVER``: a PostgreSQL URL; each run creates a schema of its own and drops it afterwards).
"""
from __future__ import annotations

import argparse
import math
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from sqlalchemy import create_engine, insert, text

from bot.app import Components, build_components, create_app
from bot.config import load_config
from bot.storage import models
from bot.testing import shipped_content, standard_nlu
from knowledge.base import CuratedKnowledgeBase
from knowledge.profile import CityProfile
from services.queue.runtime import QueueRuntime, queue_runtime
from services.queue.types import NoticeRoute, QueueEvent, QueueEventType

TOKYO = ZoneInfo("Asia/Tokyo")
DAY = datetime(2026, 12, 2, tzinfo=TOKYO)  # a Wednesday
OPENS, CLOSES = DAY.replace(hour=8, minute=30), DAY.replace(hour=17, minute=15)
#: Mean service minutes of each window (what makes "× one average" wrong).
SERVICE_MINUTES = {"resident_records": 5.0, "tax": 8.0, "insurance_pension": 11.0, "welfare": 16.0}
#: Each window's share of the tickets (800 a window on average): certificates are the busiest.
SERVICE_SHARE = {"resident_records": 1.5, "tax": 1.0, "insurance_pension": 0.9, "welfare": 0.6}
#: Relative arrival rate by hour (a morning peak, a lunch dip).
PROFILE = ((8.5, 10.0, 1.8), (10.0, 12.0, 1.2), (12.0, 13.0, 0.7), (13.0, 15.0, 1.0), (15.0, 17.25, 0.5))
TOKEN = "bench-queue-token"
NAIVE_MINUTES = 5.0


@dataclass
class Ticket:
    office: str
    service: str
    number: int
    issued: datetime
    called: datetime | None = None
    served: datetime | None = None
    counter: str = ""


class SimClock:
    """The app's clock: the simulated time of the event being replayed."""

    def __init__(self) -> None:
        self.moment = OPENS

    def __call__(self) -> datetime:
        return self.moment


def _arrival(rng: random.Random) -> datetime:
    weights = [(end - start) * rate for start, end, rate in PROFILE]
    start, end, _rate = rng.choices(PROFILE, weights=weights)[0]
    return DAY + timedelta(hours=rng.uniform(start, end - 0.05))


def simulate(offices: list[str], tickets: int, rng: random.Random) -> tuple[list[Ticket], list[QueueEvent]]:
    """Every window's day: tickets with their real call times, and the counters' events."""
    day_minutes = (CLOSES - OPENS).total_seconds() / 60
    done: list[Ticket] = []
    counter_events: list[QueueEvent] = []
    for office in offices:
        for service, typical in SERVICE_MINUTES.items():
            # Offices differ: slower or faster staff, and windows staffed for 75 % to 105 % of the day's demand
            # (an understaffed window's line grows through the morning).
            mean = typical * rng.uniform(0.7, 1.4)
            count = round(tickets * SERVICE_SHARE[service])
            counters = max(1, math.ceil(count / day_minutes * mean / rng.uniform(0.75, 1.05)))
            free = [OPENS] * counters
            lunch = counters - 1 if counters >= 2 else None  # this counter is away 12:00-13:00
            noon, one = DAY.replace(hour=12), DAY.replace(hour=13)
            for index in range(counters):
                counter_events.append(QueueEvent(office, QueueEventType.COUNTER_OPEN, OPENS,
                                                 counter=f"{service[:3]}{index + 1}", service=service))
            if lunch is not None:
                name = f"{service[:3]}{lunch + 1}"
                counter_events += [
                    QueueEvent(office, QueueEventType.COUNTER_CLOSED, noon, counter=name, service=service),
                    QueueEvent(office, QueueEventType.COUNTER_OPEN, one, counter=name, service=service)]
            sigma = 0.5
            for number, issued in enumerate(sorted(_arrival(rng) for _ in range(count)), start=1):
                starts = [max(free[i], issued) for i in range(counters)]
                if lunch is not None and noon <= starts[lunch] < one:
                    starts[lunch] = one
                which = min(range(counters), key=lambda i: starts[i])
                minutes = rng.lognormvariate(math.log(mean) - sigma ** 2 / 2, sigma)
                called = starts[which]
                ticket = Ticket(office, service, number, issued, called, called + timedelta(minutes=minutes),
                                f"{service[:3]}{which + 1}")
                free[which] = called + timedelta(minutes=minutes)
                done.append(ticket)
    return done, counter_events


def bench_profile(offices: list[str]) -> CityProfile:
    """The demo profile with ``offices`` ward offices of four windows each (names borrowed from the north office)."""
    data = deepcopy(CityProfile.load()._data)
    data["queues"]["offices"] = {office: {
        "name_from": "offices.ward.north.name", "hours_from": "offices.ward.hours", "schedule": "mon-fri 08:30-17:15",
        "services": list(SERVICE_MINUTES)} for office in offices}
    return CityProfile(data)


@contextmanager
def fresh_database(server: str | None, folder: Path) -> Iterator[str]:
    """A new empty database for one run: a SQLite file, or a schema of its own on the PostgreSQL ``server``."""
    if server is None:
        yield f"sqlite:///{folder / 'queues.db'}"
        return
    schema = f"bench_queues_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{server}{'&' if '?' in server else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def build(folder: Path, offices: list[str], clock: SimClock, database_url: str) -> Components:
    config = load_config(environ={"YORISOI_DATA_DIR": str(folder / "var")})
    connectors = {**config.connectors, "queues": {"stale_after_seconds": 24 * 3600}}
    config = config.model_copy(update={"database_url": database_url, "connectors": connectors})
    _kb, catalog, contract = shipped_content()
    knowledge = CuratedKnowledgeBase.load(profile=bench_profile(offices))
    return build_components(config, nlu=standard_nlu(), content=(knowledge, catalog, contract), now=clock)


def conversations(parts: Components, count: int) -> list[str]:
    """Widget residents who will subscribe (LINE needs the official account: its push is the notification
    service's, measured by bench_broadcast.py)."""
    ids = [uuid.uuid4().hex for _ in range(count)]
    with parts.store.sessions.begin() as session:
        session.execute(insert(models.Conversation), [
            {"id": cid, "bot": "city_hall", "channel": "web", "sender": f"w{cid}", "active": True} for cid in ids])
    return ids


def body(event: QueueEvent) -> dict[str, object]:
    data: dict[str, object] = {"type": event.type.value, "at": event.at.isoformat()}
    for name in ("ticket", "service", "counter"):
        if getattr(event, name) is not None:
            data[name] = getattr(event, name)
    return data


def events_of(tickets: list[Ticket], counter_events: list[QueueEvent]) -> list[QueueEvent]:
    events = list(counter_events)
    for t in tickets:
        events.append(QueueEvent(t.office, QueueEventType.ISSUED, t.issued, ticket=t.number, service=t.service))
        events.append(QueueEvent(t.office, QueueEventType.CALLED, t.called or t.issued, ticket=t.number,
                                 service=t.service, counter=t.counter))
        events.append(QueueEvent(t.office, QueueEventType.SERVED, t.served or t.issued, ticket=t.number,
                                 service=t.service))
    # At one instant: a ticket is issued before it is called (no one waiting), a counter finishes before calling again.
    order = {QueueEventType.COUNTER_OPEN: 0, QueueEventType.ISSUED: 1, QueueEventType.SERVED: 2,
             QueueEventType.CALLED: 3, QueueEventType.COUNTER_CLOSED: 4}
    return sorted(events, key=lambda e: (e.at, order[e.type]))


class Server:
    def __init__(self, parts: Components) -> None:
        self.server = uvicorn.Server(uvicorn.Config(create_app(parts.config, components=parts), host="127.0.0.1",
                                                    port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def replay(parts: Components, runtime: QueueRuntime, clock: SimClock, events: list[QueueEvent],
           tickets: list[Ticket], subscribers: list[str], rng: random.Random, url: str) -> dict[str, object]:
    by_key = {(t.office, t.service, t.number): t for t in tickets}
    chosen = rng.sample(tickets, min(len(subscribers), len(tickets)))
    pairs = zip(chosen, subscribers, strict=False)
    subscribe_at = sorted(((t.issued + timedelta(seconds=30), t, cid) for t, cid in pairs), key=lambda item: item[0])
    waiting: dict[tuple[str, str], set[int]] = {}
    durations: list[float] = []
    errors: dict[str, list[float]] = {"ours": [], "naive_average": [], "naive_constant": []}
    notice_latency: list[float] = []
    ingest_seconds, notices, sub_index = 0.0, 0, 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as client:
        for event in events:
            while sub_index < len(subscribe_at) and subscribe_at[sub_index][0] <= event.at:
                at, t, cid = subscribe_at[sub_index]
                clock.moment = at
                done = runtime.store.subscribe(key=f"bench:{sub_index}", office=t.office, ticket=t.number,
                                               bot="city_hall", conversation_id=cid, route=NoticeRoute.CONVERSATION,
                                               office_name=t.office, now=at, expires_at=CLOSES, ahead=3)
                runtime.dispatcher.send(done.due)
                sub_index += 1
            clock.moment = event.at
            queue = waiting.setdefault((event.office, event.service or ""), set())
            if event.type is QueueEventType.ISSUED and event.ticket is not None:
                ticket = by_key[(event.office, event.service or "", event.ticket)]
                actual = ((ticket.called or event.at) - ticket.issued).total_seconds() / 60
                ahead = len(queue)
                ours = runtime.board.estimate_for(event.office, event.service or "", ahead, event.at)
                average = statistics.fmean(durations) / 60 if durations else NAIVE_MINUTES
                if ours is not None:
                    errors["ours"].append(abs(ours - actual))
                    errors["naive_average"].append(abs(ahead * average - actual))
                    errors["naive_constant"].append(abs(ahead * NAIVE_MINUTES - actual))
                queue.add(event.ticket)
            elif event.type is QueueEventType.CALLED:
                queue.discard(event.ticket or 0)
            elif event.type is QueueEventType.SERVED and event.ticket is not None:
                ticket = by_key[(event.office, event.service or "", event.ticket)]
                durations.append(((ticket.served or event.at) - (ticket.called or event.at)).total_seconds())
            started = time.perf_counter()
            response = client.post(f"/api/v1/queues/{event.office}/events", json=body(event))
            spent = time.perf_counter() - started
            ingest_seconds += spent
            if response.status_code >= 300:
                raise RuntimeError(f"ingest refused an event: {response.status_code} {response.text[:200]}")
            queued = int(response.json()["notices"])
            if queued:
                notices += queued
                notice_latency.append(spent)
    return {"ingest_seconds": ingest_seconds, "notice_latency": notice_latency, "notices": notices, "errors": errors,
            "subscriptions": sub_index}


def core_rate(folder: Path, offices: list[str], events: list[QueueEvent], database_url: str) -> float:
    """Events/s through ``QueueIngest.record`` without HTTP, on a fresh database (the ratio's baseline)."""
    clock = SimClock()
    parts = build(folder, offices, clock, database_url)
    assert parts.plugins is not None
    runtime = queue_runtime(parts.plugins)
    started = time.perf_counter()
    for event in events:
        clock.moment = event.at
        runtime.ingest.record(event)
    rate = len(events) / (time.perf_counter() - started)
    parts.database.dispose()
    return rate


def batch_rate(folder: Path, offices: list[str], events: list[QueueEvent], database_url: str,
               size: int) -> float:
    """Events/s through the HTTP API when machines post what they buffered, ``size`` events a request."""
    clock = SimClock()
    parts = build(folder, offices, clock, database_url)
    spent = 0.0
    with Server(parts) as url, httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"},
                                            timeout=60) as client:
        for start in range(0, len(events), size):
            chunk = events[start:start + size]
            for office in dict.fromkeys(event.office for event in chunk):
                clock.moment = chunk[-1].at
                mine = [body(event) for event in chunk if event.office == office]
                began = time.perf_counter()
                response = client.post(f"/api/v1/queues/{office}/events", json=mine)
                spent += time.perf_counter() - began
                if response.status_code >= 300:
                    raise RuntimeError(f"ingest refused a batch: {response.status_code} {response.text[:200]}")
    parts.database.dispose()
    return len(events) / spent


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--batch", type=int, default=100, help="events per request in the batched run")
    parser.add_argument("--offices", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server (each run gets a schema of its own); default: SQLite files")
    args = parser.parse_args()
    import os

    os.environ["YORISOI_QUEUE_TOKEN"] = TOKEN
    rng = random.Random(args.seed)
    offices = [f"ward{i + 1:02d}" for i in range(args.offices)]
    tickets_per_window, subscribers = round(800 * args.scale), round(20_000 * args.scale)
    tickets, counter_events = simulate(offices, tickets_per_window, rng)
    events = events_of(tickets, counter_events)
    baseline_events = events[: min(len(events), 5000)]
    with tempfile.TemporaryDirectory() as folder:
        with fresh_database(args.database_url, Path(folder)) as database:
            clock = SimClock()
            parts = build(Path(folder) / "http", offices, clock, database)
            assert parts.plugins is not None
            runtime = queue_runtime(parts.plugins)
            ids = conversations(parts, subscribers)
            with Server(parts) as url:
                result = replay(parts, runtime, clock, events, tickets, ids, rng, url)
            parts.database.dispose()
        with fresh_database(args.database_url, Path(folder) / "core") as database:
            core = core_rate(Path(folder) / "core", offices, baseline_events, database)
        with fresh_database(args.database_url, Path(folder) / "batch") as database:
            batched = batch_rate(Path(folder) / "batch", offices, events, database, args.batch)
    http_rate = len(events) / float(result["ingest_seconds"])  # type: ignore[arg-type]
    latency = [1000 * s for s in result["notice_latency"]]  # type: ignore[attr-defined]
    errors: dict[str, list[float]] = result["errors"]  # type: ignore[assignment]
    ours = statistics.fmean(errors["ours"])
    print(f"\n{args.offices} offices × 4 windows × {tickets_per_window} tickets on average ({len(events):,} events), "
          f"{result['subscriptions']:,} subscribers, database: {'SQLite' if not args.database_url else 'PostgreSQL'}\n")
    print("| measure | value | × baseline |")
    print("|---|---:|---:|")
    print(f"| ingest through the HTTP API, events/s (1 client) | {http_rate:,.0f} | {http_rate / core:.2f} |")
    print(f"| ingest through the HTTP API in batches of up to {args.batch}, events/s | {batched:,.0f} | "
          f"{batched / core:.2f} |")
    print(f"| ingest in-process (no HTTP, first {len(baseline_events):,} events), events/s | {core:,.0f} | 1.00 |")
    print(f"| event → notifications queued, p50 / p95 ms | {percentile(latency, 0.5):.1f} / "
          f"{percentile(latency, 0.95):.1f} | |")
    print(f"| notices queued (near + called) | {result['notices']:,} | |")
    print(f"| expected-wait MAE, ours (counters × recent service times), minutes | {ours:.1f} | 1.00 |")
    for name, label in (("naive_average", "people ahead × the day's average service time"),
                        ("naive_constant", f"people ahead × {NAIVE_MINUTES:.0f} min")):
        value = statistics.fmean(errors[name])
        print(f"| expected-wait MAE, naive: {label}, minutes | {value:.1f} | {value / ours:.2f} |")


if __name__ == "__main__":
    main()
