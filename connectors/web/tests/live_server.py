"""A real server and a real browser for the widget's and the kiosk's tests.

``live_app`` serves the whole app (JSON API, widget, kiosk) with uvicorn on 127.0.0.1 on a
free port, backed by a SQLite file and the rule-based NLU. ``browser`` is Debian's Chromium
driven by Playwright (never a downloaded browser). Both are session-scoped; the kiosk's
tests import them from here.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from bot.app import Components, build_components, create_app
from bot.config import load_config
from bot.types import ChannelPolicy
from tests.fakes import RuleNlu

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
#: Where ``make`` puts axe-core (``npm install --prefix .cache/npm axe-core@4``); YORISOI_AXE_JS overrides.
AXE_JS = Path(os.environ.get("YORISOI_AXE_JS", ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"))
#: Texts the rule NLU maps to topics (substring match, case-insensitive).
RULES = [
    ("こんにちは", "greet"), ("hello", "greet"), ("住民票", "resident_certificate"),
    ("juminhyo", "resident_certificate"), ("staff", "talk_to_staff"), ("職員", "talk_to_staff"),
    ("opening hours", "library_hours"), ("consultation desk", "multilingual_consultation"),
    ("bảo hiểm y tế", "health_insurance_foreign"), ("health insurance", "health_insurance_foreign"),
    ("文字を大きく", "phone_text_size"), ("bigger text", "phone_text_size"),
    ("emergency", "emergency_numbers"),
]


def rule_nlu() -> RuleNlu:
    """The rule NLU of the browser tests (the shared ``rule_nlu`` fixture's rules plus the channels' own)."""
    nlu = RuleNlu()
    for needle, topic in RULES:
        nlu.add(needle, topic)
    return nlu


def policy_of(components: Components) -> ChannelPolicy:
    """The channel policy ``create_app`` gives every connector."""
    config = components.config
    return ChannelPolicy(bots=tuple(config.bots), languages=config.languages,
                         default_language=config.default_language,
                         max_message_chars=config.dialogue.max_message_chars)


def app_with_channels(components: Components) -> FastAPI:
    """The app as ``create_app`` builds it: the widget and the kiosk are mounted from the configuration."""
    return create_app(components.config, components=components)


@dataclass
class LiveApp:
    """A running server: its base URL and its components (to look into the database)."""

    url: str
    components: Components


class _Server:
    def __init__(self, app: FastAPI) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)

    def start(self) -> int:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return int(self.server.servers[0].sockets[0].getsockname()[1])

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def build_on_sqlite(folder: Path, **kiosk: object) -> Components:
    """Components on a new SQLite file in ``folder`` with the rule NLU (like the shared ``build`` fixture);
    ``kiosk`` overrides settings of ``connectors.kiosk`` as config.yml would."""
    config = load_config(environ={"YORISOI_DATA_DIR": str(folder / "var")})
    connectors = {**config.connectors, "kiosk": {**config.connectors.get("kiosk", {}), **kiosk}}
    config = config.model_copy(update={"database_url": f"sqlite:///{folder / 'yorisoi.db'}",
                                       "connectors": connectors})
    return build_components(config, nlu=rule_nlu())


class _Shared:
    """One instance per test session, however many conftests expose the fixture (web and kiosk both do)."""

    def __init__(self) -> None:
        self.value: Any = None
        self.users = 0
        self.close: Callable[[], None] = lambda: None

    @contextmanager
    def use(self, start: Callable[[], tuple[Any, Callable[[], None]]]) -> Iterator[Any]:
        if self.users == 0:
            self.value, self.close = start()
        self.users += 1
        try:
            yield self.value
        finally:
            self.users -= 1
            if self.users == 0:
                self.close()
                self.value = None


_LIVE_APP = _Shared()


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app served by uvicorn on 127.0.0.1 (a free port), on SQLite with the rule NLU."""

    def start() -> tuple[LiveApp, Callable[[], None]]:
        components = build_on_sqlite(tmp_path_factory.mktemp("live"))
        server = _Server(app_with_channels(components))
        port = server.start()

        def stop() -> None:
            server.stop()
            components.database.dispose()

        return LiveApp(f"http://127.0.0.1:{port}", components), stop

    with _LIVE_APP.use(start) as app:
        yield app


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright; skipped when it is not installed (a failure in CI).

    Module-scoped: Playwright's sync API keeps an event loop running in the main thread while
    it is started, which would break other modules' ``asyncio.run``.
    """
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk fonts-noto-core"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Open pages in fresh browser contexts (each is a different device: its own localStorage)."""
    contexts: list[Any] = []

    def open_page(**options: Any) -> Any:
        options.setdefault("viewport", {"width": 1280, "height": 800})
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []

        def on_console(message: Any) -> None:
            if message.type == "error":
                errors.append(message.text)

        page.console_errors = errors  # what the page's scripts and CSP complained about
        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot under ``test-artifacts/`` (gitignored) for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_script() -> str:
    """axe-core's source; skipped when the make step has not fetched it (a failure in CI)."""
    if not AXE_JS.exists():
        reason = f"axe-core not found at {AXE_JS}: run `npm install --prefix .cache/npm axe-core@4`"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE_JS.read_text(encoding="utf-8")


def serious_violations(page: Any, axe: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now."""
    page.add_script_tag(content=axe)
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
            resultTypes: ['violations']})"""
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "targets": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]
