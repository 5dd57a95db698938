"""The import direction of DEVELOPERS.md: only ``bot`` wires packages together."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "connectors": {"nlu", "knowledge"},
    "nlu": {"bot", "knowledge", "connectors", "translations"},
    "knowledge": {"bot", "connectors"},
    "translations": {"bot", "nlu", "knowledge", "connectors"},
}


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
            bad = imported_packages(path) & forbidden
            if bad:
                violations.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert violations == []


def test_importing_the_packages_has_no_side_effects(tmp_path: Path) -> None:
    code = (
        "import os, sys; os.chdir(sys.argv[1]);"
        "import bot.app, bot.cli, bot.engine, connectors.web.api, connectors.web.widget, connectors.kiosk.connector,"
        " connectors.line, connectors.rasa.channel, knowledge.base, knowledge.retrieval, nlu.pipeline,"
        " translations.pipeline;"
        "assert os.listdir('.') == [], os.listdir('.')"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
