"""The embeddable chat widget: its script, the demo page, the WebSocket and the UI strings.

Routes (mount with :class:`WebWidgetConnector`, next to :class:`connectors.web.api.WebApiConnector`,
whose ``POST /api/v1/messages`` is the widget's fallback when WebSocket fails):

- ``GET /`` the demo page (``?bot=`` which bot, ``?lang=`` page language, ``?resume=`` a sender id
  to continue a conversation, e.g. from the kiosk's QR code; the widget reads it),
- ``GET /static/{name}`` the widget script ``yorisoi-chat.js`` and the demo page's CSS,
- ``WS /ws/chat`` JSON frames: ``{"type": "hello", "bot"?, "sender"?, "after"?}`` → ``{"type": "ready"}``;
  with ``bot`` and ``sender`` the server then pushes ``{"type": "push", "messages": [...]}`` (transcript
  entries) for messages written outside a reply — staff, interpreters, notices — newer than ``after``; a message
  ``{"id", "bot", "sender", "text", "lang", "title"?}`` → ``{"type": "reply", "reply_to": id,
  "replies": [...], "language", "duplicate"}`` or ``{"type": "error", "reply_to": id, "error": {...}}``,
- ``GET /api/v1/ui/{lang}`` the widget's UI strings in ``lang``,
- ``POST /api/v1/greeting`` ``{"bot", "sender", "lang"}`` → the bot's welcome and start menu.
"""

from __future__ import annotations

import asyncio
import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.protocols import LiveUpdates, MessageHandler, ResidentUpdates
from bot.types import ChannelPolicy, InboundMessage
from connectors.catalogs import CatalogSource, catalog_source
from connectors.errors import ApiError, check_message
from connectors.static_files import static_file
from connectors.web.delivery import CLIENT_ID_PATTERN, SENDER_PATTERN, client_metadata, deliver, transcript_json
from languages import browser_language, endonym
from translations.catalog import Catalog

log = logging.getLogger(__name__)

CHANNEL = "web"
HERE = Path(__file__).resolve().parent
#: Files served under ``/static`` (nothing else is: no path from the request reaches the disk).
STATIC_FILES = {"yorisoi-chat.js": "text/javascript; charset=utf-8", "demo.css": "text/css; charset=utf-8"}
#: Catalog keys the widget shows (``GET /api/v1/ui/{lang}``).
WIDGET_KEYS = (
    "widget.log_label", "widget.input_label", "widget.send", "widget.language_label",
    "widget.typing", "widget.offline", "widget.sending", "widget.new_conversation", "widget.speaker_you",
    "widget.opens_new_tab", "widget.machine_translated", "widget.steps_label", "widget.error_too_long",
    "widget.error_generic", "widget.new_conversation_done", "widget.speaker_staff", "widget.speaker_interpreter",
    "widget.show_original", "widget.hide_original", "widget.original_label",
)
DEMO_KEYS = ("demo.title", "demo.intro", "demo.choose_bot", "demo.privacy", "demo.notice", "demo.kiosk_link")
MAX_FRAME_BYTES = 64_000
#: How often an open widget connection looks for messages from staff when the app gives no live wake-ups.
PUSH_POLL_SECONDS = 1.0
PAGE_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
        "connect-src 'self' ws: wss:; frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class ChatFrame(BaseModel):
    """One frame from the widget over the WebSocket."""

    model_config = ConfigDict(extra="ignore")

    type: str = "message"
    id: str | None = Field(default=None, pattern=CLIENT_ID_PATTERN)
    bot: str = Field(default="", max_length=32)
    sender: str = Field(default="", pattern=r"^$|" + SENDER_PATTERN)
    text: str = ""
    lang: str | None = None
    title: str | None = Field(default=None, max_length=200)
    #: In a hello: the id of the newest message the widget already shows (pushes start after it).
    after: int | None = Field(default=None, ge=0)


class GreetingRequest(BaseModel):
    """Ask for a bot's welcome (shown at the top of the widget)."""

    model_config = ConfigDict(extra="forbid")

    bot: str = Field(min_length=1, max_length=32)
    sender: str = Field(pattern=SENDER_PATTERN)
    lang: str | None = None


@lru_cache(maxsize=4)
def _templates(folder: str) -> Environment:
    return Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(["html"]))


def ui_strings(catalog: Catalog, language: str, keys: tuple[str, ...], bots: tuple[str, ...]) -> dict[str, str]:
    """The catalog texts of ``keys`` and the bots' names in ``language`` (with fallback)."""
    strings = {key: catalog.text(key, language) for key in keys}
    strings.update({f"bot.{bot}.name": catalog.text(f"bot.{bot}.name", language) for bot in bots})
    return strings


class WebWidgetConnector:
    """The widget's routes: demo page, static script, WebSocket chat and UI strings."""

    name = "web-widget"

    def __init__(self, default_bot: str | None = None, kiosk_path: str | None = "/kiosk", *,
                 catalog: CatalogSource | None = None, live: LiveUpdates | None = None) -> None:
        """``default_bot`` is shown on the demo page without ``?bot=`` (default: the first bot);
        ``kiosk_path`` is linked from the demo page (None: no link); ``catalog()`` gives the texts
        (called per request, so a reload shows; default: the catalogs on disk, read once); ``live``
        wakes a connection when something is written for its resident (None: it polls every second)."""
        self.default_bot = default_bot
        self.kiosk_path = kiosk_path
        self._catalog = catalog_source(catalog)
        self._live = live

    def router(self, handler: MessageHandler, policy: ChannelPolicy) -> APIRouter:
        """The routes."""
        router = APIRouter(tags=["web-widget"])
        default_bot = self.default_bot if self.default_bot in policy.bots else policy.bots[0]
        languages = [{"code": code, "name": endonym(code)} for code in policy.languages]

        def checked_language(lang: str) -> str:
            if lang not in policy.languages:
                raise ApiError(422, "unsupported_language",
                               f"unsupported language {lang!r}; use one of {', '.join(policy.languages)}")
            return lang

        @router.get("/", response_class=HTMLResponse, include_in_schema=False)
        async def demo_page(request: Request, bot: str | None = None, lang: str | None = None) -> HTMLResponse:
            chosen_bot = bot if bot in policy.bots else default_bot
            language = lang if lang in policy.languages else browser_language(
                request.headers.get("accept-language", ""), policy.languages, policy.default_language)
            catalog = self._catalog()
            strings = ui_strings(catalog, language, DEMO_KEYS, policy.bots)
            bots = [
                {"id": b, "name": strings[f"bot.{b}.name"], "description": catalog.text(f"demo.bot.{b}", language)}
                for b in policy.bots
            ]
            html = _templates(str(HERE / "templates")).get_template("index.html").render(
                lang=language, strings=strings, bots=bots, bot=chosen_bot, languages=languages,
                kiosk_path=self.kiosk_path,
            )
            return HTMLResponse(html, headers=PAGE_SECURITY_HEADERS)

        @router.get("/static/{name}", include_in_schema=False)
        async def static(name: str) -> Response:
            return await static_file(HERE / "static", STATIC_FILES, name)

        @router.get("/api/v1/ui/{lang}")
        async def get_ui_strings(lang: str) -> JSONResponse:
            language = checked_language(lang)
            return JSONResponse(
                {"language": language, "strings": ui_strings(self._catalog(), language, WIDGET_KEYS, policy.bots),
                 "languages": languages},
                headers={"Cache-Control": "public, max-age=300"},
            )

        @router.post("/api/v1/greeting")
        async def greeting(request: GreetingRequest) -> dict[str, Any]:
            check_message(policy, request.bot, "-", request.lang)
            replies = await run_in_threadpool(
                handler.lifecycle, request.bot, CHANNEL, request.sender, "follow", request.lang)
            return {"replies": [reply.to_dict() for reply in replies],
                    "language": request.lang or policy.default_language}

        @router.websocket("/ws/chat")
        async def chat(websocket: WebSocket) -> None:
            await websocket.accept()
            sending = asyncio.Lock()
            pusher: asyncio.Task[None] | None = None
            try:
                while True:
                    raw = await websocket.receive_text()
                    hello = hello_frame(raw)
                    if hello is not None and hello.bot in policy.bots and hello.sender:
                        if pusher is not None:
                            pusher.cancel()
                        if hello.after is None and isinstance(handler, ResidentUpdates):
                            # Nothing seen yet: start from now, fixed before "ready" so nothing slips between.
                            existing = await run_in_threadpool(handler.updates, hello.bot, CHANNEL, hello.sender, 0)
                            hello = hello.model_copy(update={"after": existing[-1].id if existing else 0})
                        pusher = asyncio.create_task(push_updates(websocket, sending, hello, handler, self._live))
                    answer = await answer_frame(raw)
                    async with sending:
                        await websocket.send_json(answer)
            except WebSocketDisconnect:
                return
            except Exception as exc:  # e.g. the database is down: the widget reconnects later and resends
                # Only the type: an exception's text may quote the resident's message.
                log.error("closing a widget connection after %s", type(exc).__name__)
                await websocket.close(code=1011)
            finally:
                if pusher is not None:
                    pusher.cancel()

        async def answer_frame(raw: str) -> dict[str, Any]:
            if len(raw.encode("utf-8")) > MAX_FRAME_BYTES:
                too_large = ApiError(413, "frame_too_large", f"frames are at most {MAX_FRAME_BYTES} bytes")
                return frame_error(None, too_large)
            try:
                frame = ChatFrame.model_validate(json.loads(raw))
            except (ValueError, ValidationError):
                return frame_error(None, ApiError(400, "invalid_frame", "expected a JSON message frame"))
            if frame.type == "hello":
                return {"type": "ready"}
            if frame.type != "message" or not frame.id or not frame.sender:
                return frame_error(frame.id, ApiError(400, "invalid_frame", "a message needs id, bot, sender and text"))
            try:
                text = check_message(policy, frame.bot, frame.text, frame.lang)
            except ApiError as exc:
                return frame_error(frame.id, exc)
            message = InboundMessage(
                bot=frame.bot, channel=CHANNEL, sender=frame.sender, text=text, language=frame.lang,
                external_id=frame.id, metadata=client_metadata(frame.id, frame.title),
            )
            delivery = await deliver(handler, message)
            return {
                "type": "reply", "reply_to": frame.id, "replies": list(delivery.replies),
                "language": delivery.language or frame.lang or policy.default_language,
                "duplicate": delivery.duplicate,
            }

        return router


def hello_frame(raw: str) -> ChatFrame | None:
    """The frame if it is a valid hello, else None (anything else is answered by ``answer_frame``)."""
    if len(raw) > MAX_FRAME_BYTES or '"hello"' not in raw:
        return None
    try:
        frame = ChatFrame.model_validate(json.loads(raw))
    except (ValueError, ValidationError):
        return None
    return frame if frame.type == "hello" else None


async def push_updates(websocket: WebSocket, sending: asyncio.Lock, hello: ChatFrame, handler: MessageHandler,
                       live: LiveUpdates | None = None, *, interval: float = PUSH_POLL_SECONDS) -> None:
    """Send the resident what staff write, as it arrives.

    Reads SQL (any server or worker may have stored it) when ``live`` says something was written for
    the resident, and every ``live.poll_seconds`` anyway; without ``live``, every ``interval`` seconds.
    """
    if not isinstance(handler, ResidentUpdates):
        return
    cursor = hello.after or 0
    # Watching starts before the first read, so nothing written in between is missed.
    watch = live.resident(hello.bot, CHANNEL, hello.sender) if live is not None else None
    try:
        while True:
            entries = await run_in_threadpool(handler.updates, hello.bot, CHANNEL, hello.sender, cursor)
            if entries:
                cursor = entries[-1].id
                async with sending:
                    await websocket.send_json({"type": "push", "messages": transcript_json(entries)})
            if watch is None:
                await asyncio.sleep(interval)
            else:
                await watch.wait()
    except (WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
        return
    except Exception as exc:  # the socket's own loop reports errors; pushing just stops
        log.warning("stopped pushing to a widget after %s", type(exc).__name__)
    finally:
        if watch is not None:
            watch.close()


def frame_error(reply_to: str | None, error: ApiError) -> dict[str, Any]:
    """An error frame (the widget shows a message from its catalog for the code)."""
    return {"type": "error", "reply_to": reply_to, "error": {"code": error.code, "message": error.message}}
