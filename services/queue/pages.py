"""Pages for residents: the public status page ``/queues`` and the ticket QR code's ``/q/{office}/{ticket}``.

- ``GET /queues?lang=en`` every office's windows with big numbers, rendered on the server (it works
  without scripts) and kept live by ``<yorisoi-queues>`` (``static/queues.js``) over the SSE stream.
  ``?office=north`` shows one office (a kiosk panel or a screen in that office's hall).
- ``GET /q/{office}/{ticket}?d=<day>&s=<signature>`` the QR code's page: the office and number and one
  button; ``POST`` starts the chat (a new web-widget conversation whose first message is
  ``/subscribe_queue_notice{"office", "ticket"}``, so the form is filled in) and redirects to the chat
  page with ``?resume=<sender>``, which the widget adopts. With ``line_account_id`` set, the page also
  offers LINE (the account's chat opens with that message typed in). A wrong signature: 404; a code of
  another day: 410. The GET changes nothing (link previews and scanners may open it).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.payloads import make_payload
from bot.protocols import MessageHandler
from bot.types import ClientError, InboundMessage
from languages import endonym
from services.queue.api import OFFICE_ID, QueueApi
from services.queue.runtime import QueueRuntime
from services.queue.views import offices_json, page_strings
from translations.catalog import Catalog

HERE = Path(__file__).resolve().parent
STATIC_FILES = {"queues.js": "text/javascript; charset=utf-8", "queues.css": "text/css; charset=utf-8"}
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]))


class QueuePages:
    """The status page and the QR code's page."""

    def __init__(self, runtime: QueueRuntime, api: QueueApi, handler: MessageHandler, catalog: Callable[[], Catalog],
                 languages: Sequence[str]) -> None:
        self.runtime = runtime
        self.api = api
        self.handler = handler
        self.catalog = catalog
        self.languages = tuple(languages)

    def _page(self, template: str, language: str, status: int = 200, **values: Any) -> HTMLResponse:
        catalog = self.catalog()
        html = _templates().get_template(template).render(
            lang=language, t=lambda key, **params: catalog.text(key, language, **params),
            languages=[{"code": code, "name": endonym(code)} for code in self.languages], **values)
        return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)

    def router(self) -> APIRouter:
        """``/queues``, its static files, and ``/q/{office}/{ticket}``."""
        router = APIRouter(tags=["queues"], include_in_schema=False)
        runtime = self.runtime

        @router.get("/queues", response_class=HTMLResponse)
        async def status_page(lang: str | None = None, office: str | None = None) -> HTMLResponse:
            language = self.api.language(lang)
            directory = runtime.directory()
            if office is not None and directory.get(office) is None:
                raise ClientError(404, "unknown_office", f"no office {office!r} reports queues here")
            states = await run_in_threadpool(runtime.board.offices, runtime.now())
            shown = [state for state in states if office in (None, state.office)]
            data = offices_json(shown, directory, language)
            stream = "/api/v1/queues/stream?" + urlencode({"lang": language})
            return self._page("queues.html", language, offices=data["offices"], office=office or "", stream=stream,
                              strings=page_strings(self.catalog(), language), zone=str(directory.zone()))

        @router.get("/queues/static/{name}")
        async def static(name: str) -> Response:
            if name not in STATIC_FILES:
                raise ClientError(404, "not_found", f"no static file {name!r}")
            body = await run_in_threadpool((HERE / "static" / name).read_bytes)
            return Response(body, media_type=STATIC_FILES[name],
                            headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})

        @router.get("/q/{office_id}/{ticket}", response_class=HTMLResponse)
        async def ticket_page(ticket: int, office_id: str = OFFICE_ID, d: str = "", s: str = "",
                              lang: str | None = None) -> HTMLResponse:
            language = self.api.language(lang)
            problem = self._check(office_id, ticket, d, s)
            name = runtime.directory().name(office_id, language) if problem != 404 else ""
            if problem:
                key = "queue.ticket.expired" if problem == 410 else "queue.ticket.invalid"
                return self._page("ticket.html", language, status=problem, problem=key, office_name=name,
                                  ticket=ticket, office=office_id, day=d, signature=s, line_url=None)
            return self._page("ticket.html", language, problem=None, office_name=name, ticket=ticket,
                              office=office_id, day=d, signature=s, line_url=self._line_url(office_id, ticket))

        @router.post("/q/{office_id}/{ticket}")
        async def start_chat(ticket: int, office_id: str = OFFICE_ID, d: str = Form(""),
                             s: str = Form(""), lang: str = Form("ja")) -> Response:
            language = self.api.language(lang)
            problem = self._check(office_id, ticket, d, s)
            if problem:
                raise ClientError(problem, "invalid_ticket_link", "this ticket link is not valid today")
            settings = runtime.settings
            sender = secrets.token_urlsafe(24)
            message = InboundMessage(bot=settings.bot, channel=settings.widget_channel, sender=sender,
                                     text=make_payload("subscribe_queue_notice", office=office_id, ticket=str(ticket)),
                                     language=language)
            await run_in_threadpool(self.handler.handle, message)
            query = urlencode({"bot": settings.bot, "lang": language, "resume": sender})
            return RedirectResponse(f"{settings.chat_page}?{query}", status_code=303)

        return router

    def _check(self, office: str, ticket: int, day: str, signature: str) -> int | None:
        """None for a valid code of today; 404 for a wrong one; 410 for a valid code of another day."""
        runtime = self.runtime
        if runtime.directory().get(office) is None or not runtime.links.valid(office, ticket, day, signature):
            return 404
        today = runtime.store.day_of(runtime.now()).isoformat()
        return None if day == today else 410

    def _line_url(self, office: str, ticket: int) -> str | None:
        """LINE's "open the chat with this message typed in" link, when the account is configured."""
        account = self.runtime.settings.line_account_id
        if not account:
            return None
        text = make_payload("subscribe_queue_notice", office=office, ticket=str(ticket))
        return f"https://line.me/R/oaMessage/{quote(account, safe='')}/?{quote(text, safe='')}"

