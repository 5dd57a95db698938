"""Expected waits come from how fast each window is calling now, not from "people waiting × a constant"."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.queue.estimate import WindowActivity, call_rate, expected_wait_minutes, rounded_minutes
from services.queue.tests.conftest import OPEN, QueueApp


def _calls(every_minutes: float, count: int, last: datetime = OPEN) -> list[datetime]:
    return [last - timedelta(minutes=every_minutes * i) for i in range(count)]


def test_counters_and_recent_service_times_give_the_wait() -> None:
    two = WindowActivity(durations=[540.0, 600.0, 660.0], counters=2, busy=2)  # 10 minutes each, both busy
    assert expected_wait_minutes(0, two, OPEN) == 5.0  # the first of two counters frees in 5 minutes on average
    assert expected_wait_minutes(3, two, OPEN) == 20.0
    one_idle = WindowActivity(durations=[600.0] * 3, counters=2, busy=1)
    assert expected_wait_minutes(0, one_idle, OPEN) == 0.0  # a counter is free: called at once
    assert expected_wait_minutes(3, one_idle, OPEN) == 15.0
    slow_window = WindowActivity(durations=[1200.0] * 3, counters=2, busy=2)
    assert expected_wait_minutes(3, slow_window, OPEN) == 40.0  # same people ahead, a slower window: longer


def test_without_service_times_the_pace_of_calls_is_used_and_slows_when_calls_stop() -> None:
    calls = WindowActivity(calls=_calls(4, 6))
    assert call_rate(calls.calls, OPEN) == 0.25
    assert expected_wait_minutes(5, calls, OPEN) == 20.0
    later = expected_wait_minutes(5, calls, OPEN + timedelta(minutes=20))
    assert later is not None and later > 30  # twenty silent minutes: the window is not calling at its old pace


def test_nothing_is_guessed_without_data() -> None:
    assert expected_wait_minutes(4, WindowActivity(), OPEN) is None
    assert expected_wait_minutes(4, WindowActivity(calls=_calls(5, 2), durations=[600.0], counters=1), OPEN) is None
    assert expected_wait_minutes(0, WindowActivity(), OPEN) == 0.0
    assert (rounded_minutes(None), rounded_minutes(0.2), rounded_minutes(12.6)) == (None, 1, 13)


def test_the_live_state_gives_each_window_its_own_pace(queue_app: QueueApp) -> None:
    queue_app.issue("south", "tax", *range(1, 11), minutes=0.5)
    queue_app.issue("south", "welfare", *range(101, 111), minutes=0.5)
    for step in range(4):  # tax calls two tickets every 4 minutes, welfare one
        queue_app.call("south", "tax", 1 + step * 2)
        queue_app.call("south", "tax", 2 + step * 2)
        queue_app.call("south", "welfare", 101 + step)
        queue_app.clock.moment += timedelta(minutes=4)
    services = {s["id"]: s for s in queue_app.office("south")["services"]}
    tax, welfare = services["tax"], services["welfare"]
    assert (tax["waiting"], welfare["waiting"]) == (2, 6)
    assert tax["estimated_wait_minutes"] < welfare["estimated_wait_minutes"]
    assert 4 <= tax["estimated_wait_minutes"] <= 6  # 2 waiting, a call every 2 minutes (and 4 quiet minutes since)
    assert 24 <= welfare["estimated_wait_minutes"] <= 30  # 6 waiting, a call every 4 minutes
    assert services["resident_records"]["estimated_wait_minutes"] is None  # no data: no figure


def test_open_counters_busy_counters_and_service_times_give_the_figure(queue_app: QueueApp) -> None:
    for counter in ("1", "2"):
        assert queue_app.post("west", type="counter_open", counter=counter, service="welfare").status_code == 201
    queue_app.issue("west", "welfare", *range(1, 9))
    queue_app.call("west", "welfare", 1, counter="1")
    queue_app.call("west", "welfare", 2, counter="2")
    queue_app.clock.moment += timedelta(minutes=10)
    for ticket in (1, 2):
        assert queue_app.post("west", type="served", ticket=ticket, service="welfare").status_code == 201
    queue_app.call("west", "welfare", 3, counter="1")
    queue_app.call("west", "welfare", 4, counter="2")
    queue_app.clock.moment += timedelta(minutes=10)
    assert queue_app.post("west", type="served", ticket=3, service="welfare").status_code == 201
    welfare = next(s for s in queue_app.office("west")["services"] if s["id"] == "welfare")
    assert (welfare["open_counters"], welfare["waiting"]) == (2, 4)
    # counter 1 is free, counter 2 still serves ticket 4; 10 minutes a ticket: (4 - 1 + 1) × 10 / 2
    assert welfare["estimated_wait_minutes"] == 20
