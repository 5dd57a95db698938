"""The import direction of DEVELOPERS.md: only ``bot`` wires packages together."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "connectors": {"nlu", "knowledge", "services"},
    "nlu": {"bot", "knowledge", "connectors", "translations", "services"},
    "knowledge": {"bot", "connectors", "services"},
    "translations": {"bot", "nlu", "knowledge", "connectors", "services"},
    "languages": {"bot", "nlu", "knowledge", "translations", "connectors", "services"},
    "bot": {"connectors", "services"},
    # Live services are plugins of the core (like channels, registered through entry points): they may use
    # the core and its packages, never a channel; nothing imports them.
    "services": {"connectors"},
}
#: What channels may import from the core: its public modules (``bot.channels`` is the plugin contract).
PUBLIC_CORE = {"bot.types", "bot.protocols", "bot.channels", "bot.payloads", "bot.privacy", "bot.enums"}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_packages_only_import_in_the_allowed_direction() -> None:
    violations = []
    for package, forbidden in FORBIDDEN.items():
        for path in (ROOT / package).rglob("*.py"):
            if package == "services" and "tests" in path.relative_to(ROOT).parts:
                continue  # a service's tests drive it end to end, through the channels (e.g. the widget's browser)
            bad = imported_packages(path) & forbidden
            if bad:
                violations.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert violations == []


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (``from bot import types`` counts as ``bot.types``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "bot" and node.level == 0:
            names.update(f"bot.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_channels_import_only_the_public_modules_of_the_core() -> None:
    violations = []
    for path in (ROOT / "connectors").rglob("*.py"):
        if "tests" in path.relative_to(ROOT).parts:
            continue  # tests may build a whole app (bot.app)
        core = {name for name in imported_modules(path) if name == "bot" or name.startswith("bot.")}
        bad = core - PUBLIC_CORE
        if bad:
            violations.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert violations == []


def test_importing_the_packages_has_no_side_effects(tmp_path: Path) -> None:
    code = (
        "import os, sys; os.chdir(sys.argv[1]);"
        "import bot.app, bot.cli, bot.engine, connectors.web.api, connectors.web.widget, connectors.kiosk.connector,"
        " connectors.line, connectors.rasa.channel, connectors.web.channel, connectors.kiosk.channel,"
        " connectors.line.channel, connectors.staff.channel, connectors.secure.channel, bot.channels,"
        " knowledge.base, knowledge.retrieval, nlu.pipeline, services.queue.channel, services.queue.plugin,"
        " translations.pipeline;"
        "assert os.listdir('.') == [], os.listdir('.')"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
