"""The kiosk: a touch screen at a community centre, for seniors (channel ``kiosk``).

Routes (mount with :class:`KioskConnector`):

- ``GET /kiosk/{bot}?location=community-center-1&lang=ja&idle=90`` the screen,
- ``GET /kiosk/static/{name}`` its script and CSS,
- ``GET /kiosk/api/ui/{lang}`` the screen's texts as HTML (furigana for Japanese),
- ``POST /kiosk/api/session`` a new visitor: a new sender id, the welcome with the topic buttons,
  and the QR code that continues the conversation in the web widget on the visitor's phone,
- ``POST /kiosk/api/greeting`` the welcome again in another language,
- ``POST /kiosk/api/message`` a button press or typed question → replies as HTML, guides split into steps,
- ``POST /kiosk/api/helper`` "call a helper": ``/talk_to_staff`` with ``handoff_reason: kiosk`` and the location,
- ``GET /kiosk/api/updates?bot=&sender=&after=&wait=25`` messages from staff and notices newer than ``after``;
  with ``wait`` (seconds, ≤ 30) a long poll: answered as soon as something is written for the visitor,
  else after ``wait`` seconds with none (without live wake-ups the server answers at once),
- ``POST /kiosk/api/end`` the visitor left (the idle timeout or "finish"): the conversation is closed.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field

from bot.protocols import LiveUpdates, MessageHandler, ResidentUpdates
from bot.types import ChannelPolicy, InboundMessage, Reply, TranscriptEntry
from connectors.catalogs import CatalogSource, catalog_source
from connectors.errors import ApiError, check_message
from connectors.kiosk.render import qr_data_uri, render_reply, resume_url, ui_html
from connectors.static_files import static_file
from connectors.web.delivery import CLIENT_ID_PATTERN, SENDER_PATTERN, client_metadata, deliver, transcript_json
from languages import endonym

CHANNEL = "kiosk"
HERE = Path(__file__).resolve().parent
STATIC_FILES = {"kiosk.js": "text/javascript; charset=utf-8", "kiosk.css": "text/css; charset=utf-8"}
LOCATION_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
_LOCATION = re.compile(LOCATION_PATTERN)
#: Languages with a button of their own on every kiosk, in this order; the others follow.
FIRST_LANGUAGES = ("ja", "ja-x-easy", "en")
MIN_IDLE_SECONDS, MAX_IDLE_SECONDS = 3, 3600
#: The longest long poll of ``/kiosk/api/updates`` (below the usual 60 s proxy read timeouts).
MAX_WAIT_SECONDS = 30
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class SessionRequest(BaseModel):
    """A new visitor at the kiosk."""

    model_config = ConfigDict(extra="forbid")
    bot: str = Field(min_length=1, max_length=32)
    lang: str | None = None


class _Visitor(BaseModel):
    """Fields every request about the current visitor's conversation carries."""

    model_config = ConfigDict(extra="forbid")
    bot: str = Field(min_length=1, max_length=32)
    sender: str = Field(pattern=SENDER_PATTERN)


class GreetingRequest(_Visitor):
    """The welcome of the current visitor's conversation in another language."""

    lang: str | None = None


class _Pressed(_Visitor):
    """Something the visitor sent: its language, client id (answered once) and button title."""

    lang: str | None = None
    id: str | None = Field(default=None, pattern=CLIENT_ID_PATTERN)
    title: str | None = Field(default=None, max_length=200)


class KioskMessage(_Pressed):
    """A button press (``text`` is its payload, ``title`` what it said) or a typed question."""

    text: str
    #: Where the kiosk stands (a live service answers for that place, e.g. its ward office's queue).
    location: str | None = Field(default=None, pattern=LOCATION_PATTERN)


class HelperRequest(_Pressed):
    """The visitor pressed "call a helper"."""

    location: str | None = Field(default=None, pattern=LOCATION_PATTERN)


class EndRequest(_Visitor):
    """The visitor left; their conversation is closed."""


def kiosk_languages(configured: Sequence[str], wanted: Sequence[str] | None) -> list[str]:
    """The language buttons: ja, easy Japanese and en first, then the others (of ``wanted`` or the server's)."""
    chosen = [code for code in (wanted or configured) if code in configured]
    first = [code for code in FIRST_LANGUAGES if code in configured]
    return first + [code for code in chosen if code not in first]


class KioskConnector:
    """Routes of the kiosk screen under ``/kiosk``."""

    name = CHANNEL

    def __init__(
        self,
        idle_seconds: int = 90,
        warning_seconds: int = 15,
        languages: Sequence[str] | None = None,
        public_url: str | None = None,
        default_location: str | None = None,
        *,
        catalog: CatalogSource | None = None,
        live: LiveUpdates | None = None,
    ) -> None:
        """``idle_seconds`` without a touch clear the screen for the next visitor (a countdown shows
        in the last ``warning_seconds``); ``languages`` get buttons (ja, easy Japanese and en always);
        ``public_url`` is the address phones reach the widget at (for the QR code; default: the
        address the kiosk loaded the page from); ``default_location`` names the kiosk when its URL
        has no ``?location=``; ``catalog()`` gives the texts (called per request, so a reload shows;
        default: the catalogs on disk, read once); ``live`` answers a waiting ``/api/updates`` as soon as
        something is written for the visitor (None: it answers at once and the screen polls)."""
        if not MIN_IDLE_SECONDS <= idle_seconds <= MAX_IDLE_SECONDS:
            raise ValueError(f"idle_seconds must be between {MIN_IDLE_SECONDS} and {MAX_IDLE_SECONDS}")
        if default_location is not None and not _LOCATION.fullmatch(default_location):
            raise ValueError(f"default_location must match {LOCATION_PATTERN}")
        self.idle_seconds = idle_seconds
        self.warning_seconds = max(1, warning_seconds)
        self.languages = tuple(languages) if languages else None
        self.public_url = public_url.rstrip("/") if public_url else None
        self.default_location = default_location
        self._catalog = catalog_source(catalog)
        self._live = live

    def router(self, handler: MessageHandler, policy: ChannelPolicy) -> APIRouter:
        """The kiosk's page and JSON endpoints."""
        templates = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                                autoescape=select_autoescape(["html"]))
        languages = kiosk_languages(policy.languages, self.languages)
        router = APIRouter(prefix="/kiosk", tags=["kiosk"])

        def language_of(lang: str | None) -> str:
            if lang is None:
                return policy.default_language
            if lang not in languages:
                raise ApiError(422, "unsupported_language",
                               f"unsupported language {lang!r}; use one of {', '.join(languages)}")
            return lang

        async def rendered(replies: Sequence[dict[str, Any]], language: str) -> list[dict[str, Any]]:
            return await run_in_threadpool(lambda: [render_reply(reply, language) for reply in replies])

        async def greeting_of(bot: str, sender: str, language: str) -> list[dict[str, Any]]:
            replies: tuple[Reply, ...] = await run_in_threadpool(
                handler.lifecycle, bot, CHANNEL, sender, "follow", language)
            return await rendered([reply.to_dict() for reply in replies], language)

        @router.get("", include_in_schema=False)
        async def first_kiosk() -> RedirectResponse:
            return RedirectResponse(f"/kiosk/{policy.bots[0]}")

        @router.get("/{bot}", response_class=HTMLResponse, include_in_schema=False)
        async def page(bot: str, location: str | None = None, lang: str | None = None,
                       idle: int | None = None) -> HTMLResponse:
            check_message(policy, bot, "-", None)
            language = lang if lang in languages else (
                policy.default_language if policy.default_language in languages else languages[0])
            place = location if location and _LOCATION.fullmatch(location) else self.default_location
            idle_seconds = self.idle_seconds if idle is None else min(max(idle, MIN_IDLE_SECONDS), MAX_IDLE_SECONDS)
            strings = await run_in_threadpool(ui_html, self._catalog(), language, policy.bots)
            body = templates.get_template("kiosk.html").render(
                bot=bot, lang=language, location=place or "", idle=idle_seconds,
                warning=min(self.warning_seconds, max(1, idle_seconds - 1)),
                languages=[{"code": code, "name": endonym(code)} for code in languages],
                ui=strings,
            )
            return HTMLResponse(body, headers=PAGE_HEADERS)

        @router.get("/static/{name}", include_in_schema=False)
        async def static(name: str) -> Response:
            return await static_file(HERE / "static", STATIC_FILES, name)

        @router.get("/api/ui/{lang}")
        async def ui(lang: str) -> dict[str, Any]:
            language = language_of(lang)
            strings = await run_in_threadpool(ui_html, self._catalog(), language, policy.bots)
            return {"language": language, "strings": strings}

        @router.post("/api/session")
        async def new_session(request: SessionRequest, http: Request) -> dict[str, Any]:
            check_message(policy, request.bot, "-", None)
            language = language_of(request.lang)
            sender = secrets.token_urlsafe(24)
            base = self.public_url or str(http.base_url)
            return {
                "sender": sender, "language": language,
                "replies": await greeting_of(request.bot, sender, language),
                "qr": await run_in_threadpool(qr_data_uri, resume_url(base, request.bot, sender)),
            }

        @router.post("/api/greeting")
        async def greeting(request: GreetingRequest) -> dict[str, Any]:
            check_message(policy, request.bot, "-", None)
            language = language_of(request.lang)
            return {"language": language, "replies": await greeting_of(request.bot, request.sender, language)}

        @router.post("/api/message")
        async def message(request: KioskMessage) -> dict[str, Any]:
            language = language_of(request.lang)
            text = check_message(policy, request.bot, request.text, language)
            metadata = client_metadata(request.id, request.title)
            place = request.location or self.default_location
            if place:
                metadata["kiosk_location"] = place
            inbound = InboundMessage(
                bot=request.bot, channel=CHANNEL, sender=request.sender, text=text, language=language,
                external_id=request.id, metadata=metadata,
            )
            return await answer(inbound, language)

        @router.post("/api/helper")
        async def call_helper(request: HelperRequest) -> dict[str, Any]:
            language = language_of(request.lang)
            check_message(policy, request.bot, "-", language)
            metadata = client_metadata(request.id, request.title)
            metadata.update({"handoff_reason": "kiosk", "kiosk_location": request.location or self.default_location})
            inbound = InboundMessage(
                bot=request.bot, channel=CHANNEL, sender=request.sender, text="/talk_to_staff", language=language,
                external_id=request.id, metadata=metadata,
            )
            return await answer(inbound, language)

        @router.get("/api/updates")
        async def updates(bot: str, sender: str = Query(pattern=SENDER_PATTERN), after: int = 0,
                          wait: int = Query(default=0, ge=0, le=MAX_WAIT_SECONDS)) -> dict[str, Any]:
            """Messages from staff and notices, ready for the screen (furigana like everything else)."""
            check_message(policy, bot, "-", None)
            if not isinstance(handler, ResidentUpdates):
                return {"messages": []}
            entries = await waited_updates(handler, bot, sender, after, wait)
            messages = transcript_json(entries)
            for item in messages:
                if item["reply"] is not None:
                    item["rendered"] = (await rendered([item["reply"]], item["language"] or "ja"))[0]
            return {"messages": messages}

        @router.post("/api/end")
        async def end(request: EndRequest) -> dict[str, Any]:
            check_message(policy, request.bot, "-", None)
            await run_in_threadpool(handler.lifecycle, request.bot, CHANNEL, request.sender, "unfollow", None)
            return {"ended": True}

        async def waited_updates(updates: ResidentUpdates, bot: str, sender: str, after: int,
                                 wait: float) -> list[TranscriptEntry]:
            """The visitor's new messages; none yet: wait up to ``wait`` seconds for a wake-up (a long poll)."""
            live = self._live
            if live is None or wait <= 0:
                return await run_in_threadpool(updates.updates, bot, CHANNEL, sender, after)
            deadline = time.monotonic() + wait
            with live.resident(bot, CHANNEL, sender) as watch:  # before the first read: nothing slips between
                while True:
                    entries = await run_in_threadpool(updates.updates, bot, CHANNEL, sender, after)
                    remaining = deadline - time.monotonic()
                    if entries or remaining <= 0:
                        return entries
                    await watch.wait(min(remaining, live.poll_seconds))

        async def answer(inbound: InboundMessage, language: str) -> dict[str, Any]:
            delivery = await deliver(handler, inbound)
            shown = delivery.language or language
            return {"language": shown, "duplicate": delivery.duplicate,
                    "replies": await rendered(delivery.replies, shown)}

        return router
