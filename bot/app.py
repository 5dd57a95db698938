"""The app factory: everything is built here from a validated configuration.

Importing this module does nothing; :func:`create_app` (used by ``yorisoi run`` and
the tests) builds the store, NLU, knowledge base, catalogs, engine and channels. Channels are
plugins (``bot.channels``): every installed one is built from its ``connectors:`` section.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from bot.channels import (
    Channel,
    ChannelConfigError,
    ChannelContext,
    ChannelKind,
    enabled_channel_names,
    installed_channels,
)
from bot.config import AppConfig, ConfigError
from bot.contacts import ContactRoutes, contact_effects, email_notices_skill
from bot.desk.accounts import Accounts
from bot.desk.outbox import Outbox
from bot.desk.resident import ResidentDesk
from bot.desk.service import StaffDesk
from bot.desk.store import DeskStore
from bot.effect_worker import EffectWorker
from bot.effects import EffectHandler, EffectRegistry, builtin_effects, plugin_effects
from bot.engine import DialogueEngine
from bot.forms import default_forms
from bot.http_errors import error_response, install_error_handlers
from bot.live import LocalLive, live_updates, publish_after_commit
from bot.notifications import (
    BatchStore,
    BroadcastDesk,
    NotificationDelivery,
    NotificationService,
    NotificationSettings,
    NotificationStore,
)
from bot.notifications.history import NotificationHistory
from bot.notifications.preview import NoticePreview
from bot.plugins import PluginContext
from bot.protocols import AddressConfirmer, BulkSender, LiveUpdates, TopicSearch, Understanding
from bot.secrets import SecretVault, load_key
from bot.secure_forms import SecureForms
from bot.skill_registry import Skill, SkillRegistry, plugin_skills
from bot.skills import builtin_skills
from bot.storage.contacts import ContactStore
from bot.storage.database import create_database_engine, session_factory, upgrade_database
from bot.storage.effects import EffectStore
from bot.storage.live_feed import SqlChangeFeed
from bot.storage.secure_forms import SecureFormStore
from bot.storage.store import SqlStore
from bot.storage.turns import TurnQueueStore
from bot.tasks import LazyUnderstanding, broker_url, task_trigger
from bot.topics import TopicContract
from bot.turn import Services
from bot.types import ChannelPolicy
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
    worker: EffectWorker
    secure_forms: SecureForms
    notifications: NotificationService
    delivery: NotificationDelivery
    #: Starts a delivery round soon: the in-process loop's wake-up, or a ``deliver_notifications`` task.
    notifications_queued: Callable[[], None]
    #: Wake-ups of live connections (widget, kiosk, console) after commits.
    live: LiveUpdates = field(default_factory=LocalLive)
    #: What live-service plugins were built with (``ChannelContext.plugins`` hands it to their channels).
    plugins: PluginContext | None = None
    #: Addresses residents gave for e-mail notices (sealed), and the routes that confirm them.
    contacts: ContactRoutes | None = None


def build_components(
    config: AppConfig, *, nlu: Understanding | None = None, migrate: bool = True,
    content: tuple[CuratedKnowledgeBase, Catalog, TopicContract] | None = None, retrieval: bool = False,
    now: Callable[[], datetime] | None = None, skills: Iterable[Skill] = (), effects: Iterable[EffectHandler] = (),
    search: TopicSearch | None = None, nlu_needed: bool = True, live: LiveUpdates | None = None,
) -> Components:
    """Build and wire everything for ``config``.

    ``nlu`` replaces the trained model and ``content`` the KB, catalogs and contract read
    from disk (tests share them; they are never modified). ``retrieval`` starts building the
    KB search indexes in the background (the server does; ``search`` replaces them in tests); they only
    change which topics a "did you mean ...?" offers, never the topic decided. ``now`` replaces the clock of the staff
    desk (business hours, waiting times) in tests. ``skills`` and ``effects`` are registered before
    the plugins' and the built-in ones (tests and embedding applications add their own this way).
    ``nlu_needed=False`` (a task worker) loads the trained NLU only when a turn is answered.
    With ``YORISOI_BROKER_URL`` set, a commit with effects enqueues ``run_effects`` (:mod:`bot.tasks`)
    instead of waking the in-process worker. ``live`` replaces the wake-ups of live connections the
    environment selects (:func:`bot.live.live_updates`).
    """
    clock = now or (lambda: datetime.now(UTC))
    database = create_database_engine(config.resolved_database_url)
    if migrate:
        upgrade_database(database)
    sessions = session_factory(database)
    live = live_updates() if live is None else live  # in-process, or Redis pub/sub (YORISOI_REDIS_URL)
    publish_after_commit(sessions, live)  # messages and desk changes wake live connections once committed
    if isinstance(live, LocalLive):
        live.follow(SqlChangeFeed(sessions))  # and what other processes wrote without waking us, per process
    store = SqlStore(sessions)
    knowledge, catalog, contract = content or (CuratedKnowledgeBase.load(), Catalog.load(), TopicContract.load())
    profile = knowledge.profile
    if nlu is None:
        from bot.training import load_or_train_nlu  # heavy: loads the encoder and the language model

        nlu = (load_or_train_nlu(config, knowledge, contract) if nlu_needed
               else LazyUnderstanding(lambda: load_or_train_nlu(config, knowledge, contract)))
    desk_store = DeskStore(sessions)
    resident_desk = ResidentDesk(desk_store, profile, config.handoff, now=clock)
    pipeline = translation_pipeline(config, sessions)
    services = Services(config=config, catalog=catalog, knowledge=knowledge, profile=profile, contract=contract,
                        desk=resident_desk, translator=pipeline)
    accounts = Accounts(sessions, languages=config.languages)
    desk = StaffDesk(desk_store, accounts, catalog, pipeline, config.languages, detect=_language_detector(nlu),
                     now=clock, curated=_curated_answers(services))
    if search is None and retrieval and config.knowledge.retrieval:
        from bot.kb_search import KbSearch

        kb_search = KbSearch(config.bots, config.data_path / "cache")
        kb_search.start()
        search = kb_search
    notice_settings = NotificationSettings.from_config(config, profile)
    notifications = NotificationService(NotificationStore(sessions, config.default_language), lambda: engine.catalog,
                                        pipeline, notice_settings, now=clock, on_queued=lambda: wake_notices())
    # Live services (services/) get the deployment: their skills, effects and channel share one runtime.
    plugins = PluginContext(config, sessions, notifications, lambda: engine.services, clock, config.data_path)
    key = load_key(config.data_path)
    vault = SecretVault(sessions, key)
    contacts = ContactRoutes(ContactStore(sessions, key, now=clock))  # e-mail notices; channels register routes
    registered = EffectRegistry([*effects, *plugin_effects(plugins), *contact_effects(contacts), *builtin_effects()])
    worker = EffectWorker(EffectStore(sessions), registered, lambda: engine.catalog, secrets=vault)
    wake_effects = task_trigger(worker.wake)  # in-process, or enqueue run_effects on the broker
    registry = SkillRegistry([*skills, *plugin_skills(plugins), email_notices_skill(contacts), *builtin_skills()],
                           enabled={bot: cfg.skills for bot, cfg in config.bots.items()})
    engine = DialogueEngine(
        store=store, followers=store, queue=TurnQueueStore(sessions), nlu=nlu, services=services, skills=registry,
        forms={**registry.forms(), **default_forms()}, search=search, runner=config.dialogue.runner_settings(),
        committed=lambda turn: wake_effects() if turn.effects else None,
    )
    secure_forms = SecureForms(SecureFormStore(sessions), vault, engine, lambda: engine.catalog)
    delivery = NotificationDelivery(notifications, BatchStore(sessions, config.default_language),
                                    lambda: engine.catalog, pipeline, notice_settings, now=clock)
    wake_notices = task_trigger(delivery.wake, "deliver_notifications")
    return Components(config, database, store, knowledge, catalog, nlu, engine, accounts, desk, worker, secure_forms,
                      notifications, delivery, wake_notices, live=live, plugins=plugins, contacts=contacts)


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
    components.engine.replace_knowledge(services, nlu)  # channels read the catalog through the engine
    components.desk.catalog, components.desk.curated = catalog, _curated_answers(services)
    components.knowledge, components.catalog, components.nlu = knowledge, catalog, nlu
    return {"entries": {bot: len(knowledge.topics(bot)) for bot in components.config.bots}}


def channel_policy(config: AppConfig) -> ChannelPolicy:
    """What every channel checks before handing a message to the engine."""
    return ChannelPolicy(
        bots=tuple(config.bots), languages=config.languages, default_language=config.default_language,
        max_message_chars=config.dialogue.max_message_chars,
    )


def check_channel_sections(config: AppConfig) -> None:
    """Fail fast on a ``connectors:`` section naming no installed channel (:class:`ConfigError`)."""
    try:
        enabled_channel_names(installed_channels(), config.connectors)
    except ChannelConfigError as error:
        raise ConfigError(str(error)) from None


def channels_for(config: AppConfig, parts: Components, environ: Mapping[str, str] | None = None) -> list[Channel]:
    """Every installed channel its ``connectors:`` section does not disable, built from that section.

    A bad section (or a section of a channel that is not installed) raises :class:`ConfigError`.
    """
    try:
        installed = installed_channels()
        names = enabled_channel_names(installed, config.connectors)
        context = ChannelContext(
            handler=parts.engine, policy=channel_policy(config), catalog=lambda: parts.engine.catalog,
            environ=os.environ if environ is None else environ, enabled=frozenset(names),
            resident_channels=frozenset(name for name in names if installed[name].kind is not ChannelKind.PAGES),
            public_https=config.server.public_https, accounts=parts.accounts, desk=parts.desk,
            secure_forms=parts.secure_forms, notifications=_broadcast_desk(parts), live=parts.live,
            plugins=parts.plugins, contacts=parts.contacts.store if parts.contacts else None,
            data_path=config.data_path,
            public_url=(config.server.public_url or f"http://{config.server.host}:{config.server.port}").rstrip("/"),
        )
        channels = [installed[name].from_config(config.connectors.get(name, {}), context) for name in names]
    except ChannelConfigError as error:
        raise ConfigError(str(error)) from None
    for channel in channels:
        if isinstance(channel, BulkSender):  # notifications to its residents go out in batches (LINE multicast)
            parts.delivery.register(channel)
        if isinstance(channel, AddressConfirmer) and parts.contacts is not None:  # residents may give addresses
            parts.contacts.register(channel)
    return channels


def _broadcast_desk(parts: Components) -> BroadcastDesk:
    """The broadcasts API's desk, with the console's list of recent broadcasts and previews per language
    (rendered with the notification service's translator and settings)."""
    settings = NotificationSettings.from_config(parts.config, parts.knowledge.profile)
    preview = NoticePreview(parts.notifications, lambda: parts.engine.catalog, parts.desk.pipeline, settings)
    return BroadcastDesk(parts.notifications, history=NotificationHistory(parts.store.sessions), preview=preview)


def create_app(config: AppConfig, *, components: Components | None = None) -> FastAPI:
    """The HTTP application for ``config``."""
    parts = components or build_components(config)
    channels = channels_for(config, parts)
    pushing = [channel for channel in channels if channel.kind is ChannelKind.PLATFORM]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Staff messages, effect results and recovered answers to channels that push (LINE) leave through
        # the outbox; browsers fetch theirs. Effects are performed in-process; the sweep answers what a
        # killed process left behind.
        # Notifications are delivered by their own loop, woken when one is queued.
        # With a broker (YORISOI_BROKER_URL), `yorisoi worker` performs effects, deliveries and the sweep instead.
        tasks = [] if broker_url() else [
            asyncio.create_task(parts.worker.run_forever()),
            asyncio.create_task(parts.delivery.run_forever()),
            asyncio.create_task(_sweep_forever(parts, config.dialogue.sweep_after_seconds))]
        if pushing:
            outbox = Outbox(parts.store.sessions, pushing, audience=parts.engine)
            tasks.append(asyncio.create_task(outbox.run_forever()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()

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

    for channel in channels:
        app.include_router(channel.router())
    return app


def housekeeping(parts: Components) -> None:
    """Answer messages left unanswered; forget expired secure-form links and sealed secrets."""
    parts.engine.runner.sweep()
    parts.secure_forms.purge_expired()


async def _sweep_forever(parts: Components, interval: float) -> None:
    """Housekeeping at start-up and then every ``interval`` / 2 seconds."""
    while True:
        try:
            await run_in_threadpool(housekeeping, parts)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the database restarts, say: try again next round
            log.warning("recovery sweep failed: %s", type(error).__name__)
        await asyncio.sleep(max(0.5, interval / 2))


def _is_admin(request: Request) -> bool:
    """The admin token when one is configured; otherwise only requests from this machine."""
    token = os.environ.get("YORISOI_ADMIN_TOKEN")
    if token:
        return secrets.compare_digest(request.headers.get("authorization", ""), f"Bearer {token}")
    return request.client is not None and request.client.host in ("127.0.0.1", "::1", "testclient")
