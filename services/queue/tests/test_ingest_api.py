"""The ingest API as a ticketing machine uses it, and the public read API residents' apps use."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.queue.tests.conftest import OPEN, QueueApp


def test_a_ticket_machine_without_the_token_is_refused_and_nothing_changes(queue_app: QueueApp) -> None:
    assert queue_app.post("north", token=None, type="issued", ticket=1, service="tax").status_code == 401
    wrong = queue_app.post("north", token="not-the-token", type="issued", ticket=1, service="tax")
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"
    tax = next(s for s in queue_app.office("north")["services"] if s["id"] == "tax")
    assert tax["available"] is False and tax["waiting"] is None


@pytest.mark.parametrize("queue_section", [{"office_tokens": {"south": "south-only-token"}}])
def test_an_office_token_works_for_its_office_only(queue_app: QueueApp) -> None:
    assert queue_app.post("south", token="south-only-token", type="issued", ticket=7,
                          service="tax").status_code == 201
    assert queue_app.post("north", token="south-only-token", type="issued", ticket=7,
                          service="tax").status_code == 401


def test_bad_bodies_get_a_clear_422_and_unknown_offices_404(queue_app: QueueApp) -> None:
    cases: dict[str, dict[str, Any]] = {
        "unknown type": {"type": "teleported", "ticket": 1, "service": "tax"},
        "no time zone": {"type": "issued", "ticket": 1, "service": "tax", "at": "2026-12-02T10:15:00"},
        "unknown field": {"type": "issued", "ticket": 1, "service": "tax", "tiket": 2},
        "window of another office": {"type": "issued", "ticket": 1, "service": "welfare"},  # east has no welfare
        "ticket missing": {"type": "called", "service": "tax"},
        "negative ticket": {"type": "issued", "ticket": -4, "service": "tax"},
        "counter missing": {"type": "counter_open"},
    }
    for name, body in cases.items():
        response = queue_app.post("east", **body)
        assert response.status_code == 422, (name, response.text)
        assert response.json()["error"]["message"], name
    assert queue_app.post("atlantis", type="issued", ticket=1, service="tax").status_code == 404
    broken = queue_app.client.post("/api/v1/queues/north/events", content=b"{not json",
                                   headers={"Authorization": "Bearer queue-ingest-token-for-tests"})
    assert broken.status_code == 400


def test_a_resent_event_is_stored_once(queue_app: QueueApp) -> None:
    at = OPEN.isoformat()
    first = queue_app.post("north", type="issued", ticket=245, service="resident_records", at=at)
    again = queue_app.post("north", type="issued", ticket=245, service="resident_records", at=at)
    assert (first.status_code, first.json()["duplicate"]) == (201, False)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    records = next(s for s in queue_app.office("north")["services"] if s["id"] == "resident_records")
    assert records["waiting"] == 1  # not 2
    # the same number issued again later (a new ticket after a reset of the machine) is a new event
    later = (OPEN + timedelta(minutes=1)).isoformat()
    assert queue_app.post("north", type="called", ticket=245, service="resident_records", at=later,
                          counter="2").status_code == 201
    assert queue_app.post("north", type="called", ticket=245, service="resident_records", at=later,
                          counter="2").json()["duplicate"] is True


def test_an_issued_ticket_gets_its_qr_code_url(queue_app: QueueApp) -> None:
    response = queue_app.post("north", type="issued", ticket=12, service="tax")
    url = response.json()["qr_url"]
    assert url.startswith("/q/north/12?d=2026-12-02&s=")
    assert queue_app.client.get(url).status_code == 200


def test_the_public_api_lists_every_office_with_live_figures_and_no_personal_data(queue_app: QueueApp) -> None:
    queue_app.issue("north", "resident_records", 101, 102, 103, 104, minutes=1)
    queue_app.call("north", "resident_records", 101, counter="5")
    queue_app.clock.moment += timedelta(seconds=5)
    body = queue_app.client.get("/api/v1/queues", params={"lang": "en"}).json()
    assert [office["id"] for office in body["offices"]] == ["north", "south", "east", "west"]
    north = body["offices"][0]
    assert north["name"] == "North Ward Office" and north["open"] is True
    assert (north["waiting"], north["calling"]) == (3, 101)
    records = next(s for s in north["services"] if s["id"] == "resident_records")
    assert records["name"].startswith("Resident records") and records["counter"] == "5"
    assert set(north) == {"id", "name", "open", "available", "hours", "waiting", "calling",
                          "estimated_wait_minutes", "updated_at", "updated_time", "services"}
    south = body["offices"][1]
    assert south["available"] is False and south["waiting"] is None  # no data from it: not guessed
    japanese = queue_app.client.get("/api/v1/queues/north", params={"lang": "ja"}).json()
    assert japanese["name"] == "北区役所"
    assert queue_app.client.get("/api/v1/queues/atlantis").status_code == 404
    assert queue_app.client.get("/api/v1/queues", params={"lang": "xx"}).status_code == 422


def test_figures_older_than_the_configured_age_are_unavailable(queue_app: QueueApp) -> None:
    queue_app.issue("west", "welfare", 1, 2)
    assert queue_app.office("west")["waiting"] == 2
    queue_app.clock.moment += timedelta(seconds=queue_app.runtime.settings.stale_after_seconds + 1)
    west = queue_app.office("west")
    assert west["available"] is False
    assert (west["waiting"], west["calling"], west["estimated_wait_minutes"]) == (None, None, None)


def test_outside_opening_hours_an_office_is_closed(queue_app: QueueApp) -> None:
    queue_app.issue("north", "tax", 1)
    queue_app.clock.moment = OPEN.replace(hour=18)  # 18:00: north closed, east open until 19:00 on Thursdays only
    north, east = queue_app.office("north"), queue_app.office("east")
    assert north["open"] is False and north["waiting"] is None
    assert east["open"] is False  # Wednesday
    queue_app.clock.moment = OPEN.replace(day=3, hour=18)  # Thursday 18:00
    assert queue_app.office("east")["open"] is True


def test_reset_clears_an_office(queue_app: QueueApp) -> None:
    queue_app.issue("south", "tax", 1, 2, 3)
    assert queue_app.office("south")["waiting"] == 3
    assert queue_app.post("south", type="reset").status_code == 201
    assert queue_app.office("south")["waiting"] == 0


def test_a_backlog_is_posted_as_one_batch_once(queue_app: QueueApp) -> None:
    headers = {"Authorization": "Bearer queue-ingest-token-for-tests"}
    at = [(OPEN + timedelta(minutes=m)).isoformat() for m in range(3)]
    backlog = [{"type": "issued", "ticket": 1, "service": "tax", "at": at[0]},
               {"type": "issued", "ticket": 2, "service": "tax", "at": at[1]},
               {"type": "called", "ticket": 1, "service": "tax", "counter": "4", "at": at[2]}]
    first = queue_app.client.post("/api/v1/queues/north/events", json=backlog, headers=headers)
    assert first.status_code == 201
    assert [item["duplicate"] for item in first.json()["events"]] == [False, False, False]
    again = queue_app.client.post("/api/v1/queues/north/events", json=backlog, headers=headers)
    assert again.status_code == 200 and all(item["duplicate"] for item in again.json()["events"])
    tax = next(s for s in queue_app.office("north")["services"] if s["id"] == "tax")
    assert (tax["waiting"], tax["calling"]) == (1, 1)
    broken = [{"type": "issued", "ticket": 3, "service": "tax", "at": at[0]},
              {"type": "issued", "ticket": 4, "service": "no_such_window", "at": at[0]}]
    assert queue_app.client.post("/api/v1/queues/north/events", json=broken, headers=headers).status_code == 422
    assert queue_app.client.post("/api/v1/queues/north/events", json=[], headers=headers).status_code == 422
    tax = next(s for s in queue_app.office("north")["services"] if s["id"] == "tax")
    assert tax["waiting"] == 1  # nothing of the refused batch was stored
