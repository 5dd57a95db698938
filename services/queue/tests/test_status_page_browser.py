"""The public status page /queues in Debian's Chromium: live numbers, every language, 360 px, axe."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from bot.app import Components, build_components, create_app
from bot.config import load_config
from connectors.web.tests.live_server import axe_script, browser, new_page, screenshot, serious_violations
from services.queue.runtime import QueueRuntime, queue_runtime
from services.queue.tests.conftest import OPEN, queue_nlu
from services.queue.tests.local_server import LocalServer
from services.queue.types import QueueEvent, QueueEventType

__all__ = ["browser", "new_page"]
pytestmark = pytest.mark.browser


class RunningClock:
    """Starts at a Wednesday morning and runs with real time (the offices are open whenever the test runs)."""

    def __init__(self, start: datetime) -> None:
        self.start, self.began = start, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.began)


@dataclass
class StatusSite:
    url: str
    parts: Components
    runtime: QueueRuntime
    clock: RunningClock

    def event(self, kind: QueueEventType, ticket: int, service: str = "resident_records", office: str = "north",
              counter: str | None = None) -> None:
        self.runtime.ingest.record(QueueEvent(office=office, type=kind, at=self.clock(), ticket=ticket,
                                              service=service, counter=counter))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StatusSite]:
    folder: Path = tmp_path_factory.mktemp("queues")
    config = load_config(environ={"YORISOI_DATA_DIR": str(folder / "var")})
    connectors = {**config.connectors, "queues": {"refresh_seconds": 0.5}}
    config = config.model_copy(update={"database_url": f"sqlite:///{folder / 'y.db'}", "connectors": connectors})
    clock = RunningClock(OPEN)
    parts = build_components(config, nlu=queue_nlu(), now=clock)
    server = LocalServer(create_app(config, components=parts))
    url = server.start()
    assert parts.plugins is not None
    yield StatusSite(url, parts, queue_runtime(parts.plugins), clock)
    server.stop()
    parts.database.dispose()


def _card(page: Any, office: str) -> Any:
    return page.locator(f'section[data-office="{office}"]')


def _figure(page: Any, office: str, service: str, field: str) -> Any:
    return _card(page, office).locator(f'[data-service="{service}"] [data-field="{field}"]')


def test_the_status_page_is_live_readable_on_a_phone_and_accessible(site: StatusSite,
                                                                    new_page: Callable[..., Any]) -> None:
    for ticket in range(1, 6):
        site.event(QueueEventType.ISSUED, ticket)
    site.event(QueueEventType.CALLED, 1, counter="2")
    page = new_page(viewport={"width": 360, "height": 740}, bypass_csp=True)  # axe is injected as a script
    page.goto(f"{site.url}/queues?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ward office waiting times")
    expect(_figure(page, "north", "resident_records", "waiting")).to_have_text("4")
    expect(_figure(page, "north", "resident_records", "calling")).to_have_text("1")
    expect(_card(page, "north").get_by_text("Open", exact=True)).to_be_visible()
    expect(_card(page, "south").get_by_text("No live data")).to_be_visible()  # nothing reported: not guessed
    expect(page.get_by_role("status")).to_have_text("Updating live")

    site.event(QueueEventType.CALLED, 2, counter="3")  # a counter calls the next number: no reload needed
    expect(_figure(page, "north", "resident_records", "calling")).to_have_text("2")
    expect(_figure(page, "north", "resident_records", "waiting")).to_have_text("3")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling at 360 px
    screenshot(page, "queues-status-360")
    assert serious_violations(page, axe_script()) == []

    page.get_by_label("Language").select_option("vi")
    page.get_by_role("button", name="Change").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thời gian chờ tại văn phòng quận")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(_card(page, "north").get_by_role("heading", level=2)).to_have_text("Văn phòng Quận Bắc (北区役所)")
    expect(_card(page, "north").locator("dt").first).to_have_text("Đang chờ")
    site.event(QueueEventType.CALLED, 3, counter="3")
    expect(_figure(page, "north", "resident_records", "calling")).to_have_text("3")
    assert serious_violations(page, axe_script()) == []
    assert page.console_errors == []


def test_a_kiosk_panel_shows_one_office_in_japanese(site: StatusSite, new_page: Callable[..., Any]) -> None:
    site.event(QueueEventType.ISSUED, 31, service="tax", office="east")
    page = new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page.goto(f"{site.url}/queues?lang=ja&office=east")
    expect(page.locator("section[data-office]")).to_have_count(1)
    expect(_card(page, "east").get_by_role("heading", level=2)).to_have_text("東区役所")
    expect(_figure(page, "east", "tax", "waiting")).to_have_text("1")
    assert serious_violations(page, axe_script()) == []
    assert page.console_errors == []
