"""Starting every server and worker of a deployment at once: they migrate one after another and the
demo accounts are created once, instead of one process failing on what another just created."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session, sessionmaker

from bot.cli_users import ensure_demo_users
from bot.desk.accounts import Accounts
from bot.enums import Role
from bot.protocols import StaffUser
from bot.storage.database import (
    MIGRATIONS_DIR,
    create_database_engine,
    current_revision,
    session_factory,
    upgrade_database,
)
from tests.deploy.cluster import POSTGRES_URL, ROOT, postgres_schema

#: Each process imports first, then waits for the same moment, so their upgrades really overlap.
UPGRADE_AT = """
import sys, time
from bot.storage.database import create_database_engine, upgrade_database
engine = create_database_engine(sys.argv[1])
while time.time() < float(sys.argv[2]):
    time.sleep(0.001)
upgrade_database(engine)
"""


def head() -> str:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    revision = ScriptDirectory.from_config(config).get_current_head()
    assert revision is not None
    return revision


@pytest.mark.postgres
def test_processes_starting_together_on_an_empty_database_all_migrate_it(postgres_available: bool) -> None:
    if not postgres_available:  # several servers share PostgreSQL (SQLite serves one process)
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    with postgres_schema() as database_url:
        start_at = time.time() + 4  # after every interpreter has imported SQLAlchemy and Alembic
        processes = [subprocess.Popen([sys.executable, "-c", UPGRADE_AT, database_url, str(start_at)], cwd=ROOT,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
        results = [(process.wait(timeout=120), process.stderr.read() if process.stderr else "")
                   for process in processes]

        assert [code for code, _ in results] == [0, 0, 0, 0], "\n".join(error[-2000:] for _, error in results)
        engine = create_database_engine(database_url)
        try:
            assert current_revision(engine) == head()
        finally:
            engine.dispose()


class SeenBeforeAnotherServerCommitted(Accounts):
    """Accounts whose first listing is from just before another server created the demo admin."""

    def __init__(self, sessions: sessionmaker[Session], *, languages: tuple[str, ...]) -> None:
        super().__init__(sessions, languages=languages)
        self.listings = 0

    def users(self, role: Role | None = None) -> list[StaffUser]:
        self.listings += 1
        if self.listings == 1:
            return []
        return super().users(role)


def test_demo_accounts_created_meanwhile_by_another_server_do_not_stop_this_one(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path / 'y.db'}")
    upgrade_database(engine)
    languages = ("ja", "en", "vi", "zh-Hans", "pt", "ne")
    Accounts(session_factory(engine), languages=languages).create_user("admin", "demo-password", Role.ADMIN)
    racing = SeenBeforeAnotherServerCommitted(session_factory(engine), languages=languages)

    assert ensure_demo_users(racing, {"YORISOI_ADMIN_PASSWORD": "demo-password"}) == ["interpreter"]
    assert [user.username for user in racing.users()] == ["admin", "interpreter"]
