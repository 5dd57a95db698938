"""The app factory: everything is built here from a validated configuration.

Importing this module does nothing; :func:`create_app` (used by ``yorisoi run`` and
the tests) builds the store, NLU, knowledge base, catalogs, engine and connectors.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from bot.config import AppConfig
from bot.desk.accounts import Accounts
from bot.desk.outbox import Outbox
from bot.desk.resident import ResidentDesk
from bot.desk.service import StaffDesk
from bot.desk.store import DeskStore
from bot.engine import DialogueEngine
from bot.forms import default_forms
from bot.protocols import Connector, PushChannel, Understanding
from bot.skills import default_skills
from bot.storage.database import create_database_engine, session_factory, upgrade_database
from bot.storage.store import SqlStore
from bot.topics import TopicContract
from bot.turn import Services
from bot.types import ChannelPolicy
from connectors.errors import error_response, install_error_handlers
from connectors.rasa.channel import RasaRestConnector
from connectors.web.api import WebApiConnector
from knowledge.base import CuratedKnowledgeBase
from knowledge.profile import CityProfile
from translations.catalog import Catalog

log = logging.getLogger(__name__)

#: Requests larger than this are refused before their body is read (a message is at most
#: ``max_message_chars`` characters; the rest is headroom for JSON and metadata).
MAX_BODY_BYTES = 1_000_000


@dataclass
class Components:
    """The wired parts of a running deployment."""

    config: AppConfig
    database: Engine
    store: SqlStore
    knowledge: CuratedKnowledgeBase
    catalog: Catalog
    nlu: Understanding
    engine: DialogueEngine
    accounts: Accounts
    desk: StaffDesk


def build_components(
    config: AppConfig, *, nlu: Understanding | None = None, migrate: bool = True,
    content: tuple[CuratedKnowledgeBase, Catalog, TopicContract] | None = None, retrieval: bool = False,
    now: Callable[[], datetime] | None = None,
) -> Components:
    """Build and wire everything for ``config``.

    ``nlu`` replaces the trained model and ``content`` the KB, catalogs and contract read
    from disk (tests share them; they are never modified). ``retrieval`` starts building the
    KB search indexes in the background (the server does; it only changes which topics a
    "did you mean ...?" offers, never the topic decided). ``now`` replaces the clock of the staff
    desk (business hours, waiting times) in tests.
    """
    clock = now or (lambda: datetime.now(UTC))
    database = create_database_engine(config.resolved_database_url)
    if migrate:
        upgrade_database(database)
    sessions = session_factory(database)
    store = SqlStore(sessions)
    knowledge, catalog, contract = content or (CuratedKnowledgeBase.load(), Catalog.load(), TopicContract.load())
    profile = knowledge.profile
    if nlu is None:
        from bot.training import load_or_train_nlu  # heavy: loads the encoder and the language model

        nlu = load_or_train_nlu(config, knowledge, contract)
    desk_store = DeskStore(sessions)
    resident_desk = ResidentDesk(desk_store, profile, config.handoff, now=clock)
    pipeline = translation_pipeline(config, sessions)
    services = Services(config=config, catalog=catalog, knowledge=knowledge, profile=profile, contract=contract,
                        desk=resident_desk, translator=pipeline)
    accounts = Accounts(sessions, languages=config.languages)
    desk = StaffDesk(desk_store, accounts, catalog, pipeline, config.languages, detect=_language_detector(nlu),
                     now=clock, curated=_curated_answers(services))
    search = None
    if retrieval and config.knowledge.retrieval:
        from bot.kb_search import KbSearch

        search = KbSearch(config.bots, config.data_path / "cache")
        search.start()
    engine = DialogueEngine(
        store=store, followers=store, nlu=nlu, services=services, skills=default_skills(), forms=default_forms(),
        search=search,
    )
    return Components(config, database, store, knowledge, catalog, nlu, engine, accounts, desk)


def translation_pipeline(config: AppConfig, sessions: Any) -> Any:
    """Curated text → the SQL translation memory → Argos packages in the data dir (no downloads)."""
    from bot.storage.translation_memory import SqlTranslationMemory
    from translations.pipeline import create_pipeline

    return create_pipeline(config.data_path, memory=SqlTranslationMemory(sessions))


def _curated_answers(services: Services) -> Any:
    """A KB answer's text in a reader's language, only when curated in that very language."""

    def curated(bot: str, topic: str, language: str) -> str | None:
        answer = services.knowledge.answer(bot, topic, language)
        return None if answer is None or answer.language != language else str(answer.text)

    return curated


def _language_detector(nlu: Understanding) -> Any:
    """The NLU's language id, limited to the candidates (an interpreter writes one of two languages)."""
    detect = getattr(nlu, "detect_language", None)
    if detect is None:
        return None

    def among(text: str, candidates: Any) -> str:
        language, _confidence = detect(text, candidates[0] if candidates else None)
        return str(language) if language in candidates else str(candidates[0])

    return among


def reload_knowledge(components: Components) -> dict[str, object]:
    """Re-read the KB, the city profile and the catalogs; retrain the NLU if its data changed.

    Servers are stateless, so each server of a deployment reloads on its own request.
    """
    profile = CityProfile.load()
    knowledge = CuratedKnowledgeBase.load(profile=profile)
    catalog = Catalog.load()
    contract = TopicContract.load()
    from bot.training import load_or_train_nlu

    nlu = load_or_train_nlu(components.config, knowledge, contract)
    services = Services(config=components.config, catalog=catalog, knowledge=knowledge, profile=profile,
                        contract=contract, desk=ResidentDesk(components.desk.store, profile, components.config.handoff,
                                                          now=components.desk.now),
                        translator=components.desk.pipeline)
    components.engine.replace_knowledge(services, nlu)
    components.desk.curated = _curated_answers(services)
    components.knowledge, components.catalog, components.nlu = knowledge, catalog, nlu
    return {"entries": {bot: len(knowledge.topics(bot)) for bot in components.config.bots}}


def connectors_for(config: AppConfig, environ: Mapping[str, str] | None = None) -> list[Connector]:
    """The enabled connectors (LINE credentials are read from the environment)."""
    enabled: list[Connector] = []
    channels = config.connectors
    if channels.web.enabled:
        from connectors.web.widget import WebWidgetConnector

        kiosk_path = "/kiosk" if channels.kiosk.enabled else None
        enabled += [WebApiConnector(), WebWidgetConnector(default_bot=channels.web.default_bot, kiosk_path=kiosk_path)]
    if channels.kiosk.enabled:
        from connectors.kiosk.connector import KioskConnector

        kiosk = channels.kiosk
        enabled.append(KioskConnector(
            idle_seconds=kiosk.idle_seconds, warning_seconds=kiosk.warning_seconds, languages=kiosk.languages,
            public_url=kiosk.public_url, default_location=kiosk.default_location,
        ))
    if config.connectors.rasa.enabled:
        enabled.append(RasaRestConnector())
    if config.connectors.line.enabled:
        from connectors.line import LineConnector, LineSettings

        enabled.append(LineConnector(LineSettings.from_env(os.environ if environ is None else environ, config.bots)))
    return enabled


def create_app(config: AppConfig, *, components: Components | None = None) -> FastAPI:
    """The HTTP application for ``config``."""
    parts = components or build_components(config)
    connectors = connectors_for(config)
    pushers: dict[str, PushChannel] = {}
    for connector in connectors:
        make_pusher = getattr(connector, "pusher", None)
        if make_pusher is not None:
            pusher = make_pusher()
            pushers[pusher.channel] = pusher

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Staff messages to channels that push (LINE) leave through the outbox; browsers poll.
        worker = None
        if pushers:
            outbox = Outbox(parts.store.sessions, pushers, audience=parts.engine)
            worker = asyncio.create_task(outbox.run_forever())
        try:
            yield
        finally:
            if worker is not None:
                worker.cancel()

    app = FastAPI(title="Yorisoi", version="0.1.0", docs_url="/api/docs", openapi_url="/api/openapi.json",
                  lifespan=lifespan)
    app.state.components = parts
    install_error_handlers(app)

    @app.middleware("http")
    async def refuse_huge_bodies(request: Request, call_next: Any) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return error_response(413, "request_too_large", f"the request is larger than {MAX_BODY_BYTES} bytes")
        response: Response = await call_next(request)
        return response

    @app.post("/api/v1/admin/reload")
    async def reload(request: Request) -> JSONResponse:
        if not _is_admin(request):
            return error_response(403, "forbidden", "reloading needs the admin token (or a request from this machine)")
        summary = await run_in_threadpool(reload_knowledge, parts)
        return JSONResponse({"status": "reloaded", **summary})

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "bots": list(config.bots)})

    policy = ChannelPolicy(
        bots=tuple(config.bots), languages=config.languages, default_language=config.default_language,
        max_message_chars=config.dialogue.max_message_chars,
    )
    for connector in connectors:
        app.include_router(connector.router(parts.engine, policy))
    from connectors.staff.api import StaffDeskApi

    app.include_router(StaffDeskApi(parts.accounts, parts.desk,
                                    secure_cookie=config.server.public_https).router())
    from connectors.staff.console import StaffConsole

    app.include_router(StaffConsole(bots=tuple(config.bots)).router())
    return app


def _is_admin(request: Request) -> bool:
    """The admin token when one is configured; otherwise only requests from this machine."""
    token = os.environ.get("YORISOI_ADMIN_TOKEN")
    if token:
        return secrets.compare_digest(request.headers.get("authorization", ""), f"Bearer {token}")
    return request.client is not None and request.client.host in ("127.0.0.1", "::1", "testclient")
