"""The ``yorisoi`` command line as an operator uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def yorisoi(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)


def test_a_bad_config_is_reported_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("bots:\n  library:\n    topic_groups: [library]\nserver:\n  port: -1\n", encoding="utf-8")
    result = yorisoi("--config", str(config), "db", "current")
    assert result.returncode == 2
    assert f"{config} line 5: server.port" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_creates_the_sqlite_database(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("bots:\n  library:\n    topic_groups: [library]\ndatabase_url: sqlite:///data/y.db\n",
                      encoding="utf-8")
    result = yorisoi("--config", str(config), "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "revision 0002" in result.stdout
    assert (tmp_path / "data" / "y.db").exists()
