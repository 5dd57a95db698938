"""Fixtures of the kiosk's tests: an HTTP client with the kiosk mounted, the live server and the browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from connectors.web.tests.live_server import app_with_channels, browser, build_on_sqlite, live_app, new_page

__all__ = ["browser", "live_app", "new_page"]


@pytest.fixture(scope="module")
def kiosk_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A client of the app with the kiosk (and widget) routes, on SQLite; the kiosk is "community-center-1"."""
    components = build_on_sqlite(tmp_path_factory.mktemp("kiosk"), idle_seconds=60,
                                 default_location="community-center-1")
    with TestClient(app_with_channels(components)) as client:
        client.components = components  # type: ignore[attr-defined]
        yield client
    components.database.dispose()
