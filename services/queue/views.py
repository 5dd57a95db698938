"""The live state as the public API, the status page and its stream show it: counts and numbers, no personal data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.queue.offices import OfficeDirectory
from services.queue.types import OfficeState, ServiceState
from translations.catalog import Catalog

#: Catalog keys the status page's script needs (sent with the page, in its language).
PAGE_KEYS = (
    "queues.page.title", "queues.page.intro", "queues.waiting", "queues.calling", "queues.wait",
    "queues.minutes", "queues.closed", "queues.open", "queues.unavailable", "queues.updated", "queues.hours",
    "queues.no_one", "queues.unknown", "queues.language", "queues.change", "queues.live", "queues.offline",
    "queues.counter",
)


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def service_json(state: ServiceState, directory: OfficeDirectory, language: str) -> dict[str, Any]:
    """One window: ``id``, ``name``, ``waiting``, ``calling``, ``counter``, ``estimated_wait_minutes``, ..."""
    return {
        "id": state.service, "name": directory.service_name(state.service, language), "available": state.available,
        "waiting": state.waiting, "calling": state.calling, "counter": state.calling_counter,
        "estimated_wait_minutes": state.estimated_wait_minutes, "open_counters": state.open_counters,
        "updated_at": _time(state.updated_at),
    }


def office_json(state: OfficeState, directory: OfficeDirectory, language: str) -> dict[str, Any]:
    """One office as ``GET /api/v1/queues`` lists it (figures are null when unavailable or closed)."""
    shown = state.open and state.available
    return {
        "id": state.office, "name": directory.name(state.office, language), "open": state.open,
        "available": state.available, "hours": directory.hours_text(state.office, language),
        "waiting": state.waiting if shown else None, "calling": state.calling if shown else None,
        "estimated_wait_minutes": state.estimated_wait_minutes if shown else None,
        "updated_at": _time(state.updated_at),
        # HH:MM in the city's time zone (what the status page shows)
        "updated_time": state.updated_at.astimezone(directory.zone()).strftime("%H:%M") if state.updated_at else None,
        "services": [service_json(service, directory, language) for service in state.services],
    }


def offices_json(states: Sequence[OfficeState], directory: OfficeDirectory, language: str) -> dict[str, Any]:
    """``{"offices": [...]}``."""
    return {"offices": [office_json(state, directory, language) for state in states]}


def page_strings(catalog: Catalog, language: str) -> dict[str, str]:
    """The status page's texts in ``language`` (with the catalog's fallback)."""
    return {key: catalog.text(key, language) for key in PAGE_KEYS}  # placeholders stay for the script
