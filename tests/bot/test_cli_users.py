"""``yorisoi users``: the first admin, interpreters, and the demo accounts of ``make run``."""

from __future__ import annotations

import os
from pathlib import Path

from bot.cli_users import ensure_demo_users
from bot.desk.accounts import Accounts
from bot.storage.database import create_database_engine, session_factory, upgrade_database
from tests.bot.test_cli import yorisoi

CONFIG = "bots:\n  library:\n    topic_groups: [library]\ndatabase_url: sqlite:///data/y.db\n"


def test_create_an_admin_and_an_interpreter_then_log_in(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(CONFIG, encoding="utf-8")
    env = {**os.environ, "FIRST_PASSWORD": "a-long-secret"}
    created = yorisoi("--config", str(config), "users", "create", "chief", "--role", "admin",
                      "--display-name", "課長", "--password-env", "FIRST_PASSWORD", env=env)
    assert created.returncode == 0, created.stderr
    assert "a-long-secret" not in created.stdout + created.stderr
    interpreter = yorisoi("--config", str(config), "users", "create", "lan", "--role", "interpreter",
                          "--interprets", "vi,en", "--password-env", "FIRST_PASSWORD", env=env)
    assert interpreter.returncode == 0, interpreter.stderr
    again = yorisoi("--config", str(config), "users", "create", "chief", "--role", "admin",
                    "--password-env", "FIRST_PASSWORD", env=env)
    assert again.returncode == 2 and "exists already" in again.stderr
    short = yorisoi("--config", str(config), "users", "create", "x", "--role", "staff", "--password-env", "SHORT",
                    env={**os.environ, "SHORT": "123"})
    assert short.returncode == 2 and "at least 8" in short.stderr
    listing = yorisoi("--config", str(config), "users", "list")
    assert "chief" in listing.stdout and "interprets vi,en" in listing.stdout

    engine = create_database_engine(f"sqlite:///{tmp_path / 'data' / 'y.db'}")
    accounts = Accounts(session_factory(engine), languages=("ja", "en", "vi"))
    session = accounts.login("chief", "a-long-secret")
    assert session is not None and session.user.role == "admin"
    assert accounts.login("chief", "wrong password") is None
    stored = engine.connect().exec_driver_sql("select password_hash from users where username='chief'").scalar()
    assert stored is not None and stored.startswith("$argon2id$")


def test_demo_users_exist_only_with_the_demo_password(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'y.db'}")
    upgrade_database(engine)
    accounts = Accounts(session_factory(engine), languages=("ja", "en", "vi", "zh-Hans", "pt", "ne"))
    assert ensure_demo_users(accounts, {}) == []
    assert ensure_demo_users(accounts, {"YORISOI_ADMIN_PASSWORD": "demo-password"}) == ["admin", "interpreter"]
    assert ensure_demo_users(accounts, {"YORISOI_ADMIN_PASSWORD": "demo-password"}) == []
    assert accounts.login("admin", "demo-password") is not None
