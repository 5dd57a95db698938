"""Shared fixtures: databases (SQLite file and a private PostgreSQL schema) and app builders."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from bot.app import Components, build_components, create_app
from bot.config import AppConfig, load_config
from bot.effects import EffectHandler
from bot.fakes import Clock  # noqa: F401  (tests import the settable clock from here)
from bot.protocols import TopicSearch, Understanding
from bot.skill_registry import Skill
from bot.testing import conversation, conversations, standard_nlu  # noqa: F401  (the test channel's fixtures)
from bot.testing import shipped_content as shipped
from bot.topics import TopicContract
from knowledge.base import CuratedKnowledgeBase
from tests.fakes import RuleNlu
from translations.catalog import Catalog

os.environ.setdefault("OMP_NUM_THREADS", "1")
POSTGRES_URL = os.environ.get("YORISOI_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


def _postgres_available() -> bool:
    try:
        with create_engine(POSTGRES_URL).connect() as connection:
            connection.execute(text("select 1"))
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    """Whether the PostgreSQL server is reachable (CI requires it: see YORISOI_REQUIRE_POSTGRES)."""
    available = _postgres_available()
    if not available and os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI but {POSTGRES_URL} is not reachable")
    return available


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, postgres_available: bool) -> Iterator[str]:
    """A fresh empty database: a SQLite file, or a private schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'yorisoi.db'}"
        return
    if not postgres_available:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}")
    schema = f"yorisoi_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}&application_name={schema}"
    finally:
        with admin.connect() as connection:
            # Connections a test left in its engines' pools (apps and workers are not always disposed) would
            # add up to the server's max_connections over the suite: close them with the schema.
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE application_name = :schema AND pid <> pg_backend_pid()"),
                               {"schema": schema})
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., AppConfig]:
    """The repository's config.yml with the database and data dir pointed at test places."""

    def make(database_url: str | None = None, **dialogue: object) -> AppConfig:
        config = load_config(environ={"YORISOI_DATA_DIR": str(tmp_path / "var")})
        update: dict[str, object] = {"database_url": database_url or f"sqlite:///{tmp_path / 'y.db'}"}
        if dialogue:
            update["dialogue"] = config.dialogue.model_copy(update=dialogue)
        return config.model_copy(update=update)

    return make


@pytest.fixture
def rule_nlu() -> RuleNlu:
    """A rule-based stand-in for the NLU with the rules most engine tests need."""
    return standard_nlu()


@pytest.fixture(scope="session")
def shipped_content() -> tuple[CuratedKnowledgeBase, Catalog, TopicContract]:
    """The KB, catalogs and topic contract as shipped, read once per test session."""
    return shipped()


@pytest.fixture
def build(make_config: Callable[..., AppConfig],
          shipped_content: tuple[CuratedKnowledgeBase, Catalog, TopicContract]) -> Callable[..., Components]:
    """Build wired components on a database with a given NLU."""

    def make(database_url: str | None = None, nlu: Understanding | None = None,
             now: Callable[[], datetime] | None = None, skills: Sequence[Skill] = (),
             effects: Sequence[EffectHandler] = (), search: TopicSearch | None = None,
             **dialogue: object) -> Components:
        config = make_config(database_url, **dialogue)
        return build_components(config, nlu=nlu or RuleNlu(), content=shipped_content, now=now, skills=skills,
                                effects=effects, search=search)

    return make


@pytest.fixture
def client(build: Callable[..., Components], rule_nlu: RuleNlu) -> Iterator[TestClient]:
    """An HTTP client of an app on SQLite with the rule NLU."""
    components = build(nlu=rule_nlu)
    with TestClient(create_app(components.config, components=components)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def tiny_mt_archives(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Tiny Argos packages ja→en, en→vi, vi→en, en→ja (each copies its input, swapping one greeting)."""
    from tests.translations.tiny_argos import build_tiny_package

    workdir = tmp_path_factory.mktemp("tiny-mt")
    return [
        build_tiny_package(workdir, "ja", "en", words={"こんにちは": "hello"}),
        build_tiny_package(workdir, "en", "vi", words={"hello": "chào"}),
        build_tiny_package(workdir, "vi", "en", words={"chào": "hello"}),
        build_tiny_package(workdir, "en", "ja", words={"hello": "こんにちは"}),
    ]


def install_tiny_mt(archives: list[Path], data_path: Path) -> None:
    """Install the tiny packages into a deployment's data dir (as ``yorisoi translations install`` does)."""
    from translations.argos_packages import install_package, packages_dir_for

    for archive in archives:
        install_package(archive, packages_dir_for(data_path))


def set_desk_open(components: Components, always_open: bool = True) -> None:
    """Make the staff desk answer whatever the clock says (False: the profile's hours again)."""
    desk = components.engine.services.desk
    assert desk is not None
    desk.settings = desk.settings.model_copy(update={"always_open": always_open})
