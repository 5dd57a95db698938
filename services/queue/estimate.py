"""Expected waits from what each window is doing now, not from "people waiting × a constant".

A window is served FIFO by ``c`` counters (the counters open for it, else those that called its
tickets recently). A ticket with ``k`` tickets before it is called when ``k + 1`` counters have
become free, counting the counters idle now; the counters free up at ``c`` per mean service time
of the window's recent tickets (called → served):

    wait = 0                                   when k < idle counters
    wait = (k − idle + 1) × mean service / c   otherwise

Without served events (a system that reports only calls) the window's recent pace of calls is used:
``n`` calls since the oldest ``t₁``, one average gap added so that a window that stopped calling slows
down in the estimate as the silence grows: ``rate = n / ((now − t₁) + (t_n − t₁)/(n − 1))``.
With neither, there is no estimate (shown as unknown, never guessed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean

#: Fewer recent calls (or service times) than this say nothing yet.
MIN_SAMPLES = 3


@dataclass(frozen=True)
class WindowActivity:
    """What a window did recently."""

    #: Times of its recent calls.
    calls: Sequence[datetime] = ()
    #: Recent service times in seconds (call → served).
    durations: Sequence[float] = ()
    #: Counters serving it now.
    counters: int = 0
    #: Tickets being served now (called, not yet served).
    busy: int = 0


def call_rate(calls: Sequence[datetime], now: datetime) -> float | None:
    """Calls per minute from the times of recent calls (any order); None with fewer than :data:`MIN_SAMPLES`."""
    ordered = sorted(calls)
    if len(ordered) < MIN_SAMPLES:
        return None
    first, last = ordered[0], ordered[-1]
    gap = (last - first).total_seconds() / 60 / (len(ordered) - 1)
    span = max(0.0, (now - first).total_seconds() / 60) + gap
    return len(ordered) / span if span > 0 else None


def expected_wait_minutes(ahead: int, window: WindowActivity, now: datetime) -> float | None:
    """Minutes until a ticket with ``ahead`` tickets before it is called; None when nothing supports a figure."""
    if ahead < 0:
        raise ValueError("ahead must be zero or more")
    counters = window.counters
    if len(window.durations) >= MIN_SAMPLES and counters > 0:
        idle = max(0, counters - min(window.busy, counters))
        if ahead < idle:
            return 0.0
        return (ahead - idle + 1) * fmean(window.durations) / 60 / counters
    if ahead == 0:
        return 0.0
    rate = call_rate(window.calls, now)
    return ahead / rate if rate is not None else None


def rounded_minutes(minutes: float | None) -> int | None:
    """Whole minutes for people (at least 1 while there is any wait)."""
    if minutes is None:
        return None
    return 0 if minutes <= 0 else max(1, round(minutes))
