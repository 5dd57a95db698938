"""The pages behind the links in e-mails: confirm an address, and unsubscribe (also in one click).

- ``GET /email/confirm/{token}`` asks to confirm (a button): mail scanners that open every link confirm
  nothing; ``POST`` confirms, and from then on notices are e-mailed too.
- ``GET /email/unsubscribe/{token}?lang=`` asks to stop (a button); ``POST`` stops and deletes the address.
  The same ``POST`` is the RFC 8058 one-click target of ``List-Unsubscribe`` (a mail client sends
  ``List-Unsubscribe=One-Click`` without showing the page); doing it twice is fine.

Pages are in the language of the e-mail (``?lang=``), else the one the resident gave the address in; a
link that is unknown answers 404 in the browser's language. Nothing is cached or sent as a referrer; the
address is shown masked (``t***@example.com``); the token is redacted from access logs
(``bot.privacy.AccessLogFilter``) and never logged.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.privacy import mask_address
from bot.protocols import ContactBook
from bot.types import RouteContact
from connectors.catalogs import CatalogSource
from languages import browser_language

HERE = Path(__file__).resolve().parent
#: What a link token looks like (43 url-safe characters); anything else is not looked up.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
_CSP = ("default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'")
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html"]))


@dataclass(frozen=True)
class Page:
    """What one page says: catalog keys of its title, text and (when it asks) button."""

    title: str
    text: str
    button: str | None = None


CONFIRM = Page("email.page.confirm_title", "email.page.confirm_explain", "email.page.confirm_button")
CONFIRMED = Page("email.page.confirm_title", "email.page.confirmed")
UNSUBSCRIBE = Page("email.page.unsubscribe_title", "email.page.unsubscribe_explain", "email.page.unsubscribe_button")
UNSUBSCRIBED = Page("email.page.unsubscribe_title", "email.page.unsubscribed")
INVALID = Page("email.page.invalid_title", "email.page.invalid")


class EmailPages:
    """The confirmation and unsubscribe pages on a :class:`~bot.protocols.ContactBook`."""

    def __init__(self, contacts: ContactBook, catalog: CatalogSource, default_language: str) -> None:
        self._contacts = contacts
        self._catalog = catalog
        self._default = default_language

    def router(self) -> APIRouter:
        """The four routes."""
        router = APIRouter(include_in_schema=False)

        @router.get("/email/confirm/{token}", response_class=HTMLResponse)
        async def confirm_page(token: str, request: Request) -> Response:
            contact = await self._lookup(self._contacts.find, token)
            if contact is None or contact.unsubscribed:
                return self._invalid(request, contact)
            return self._page(200, CONFIRMED if contact.confirmed else CONFIRM, contact, contact.language)

        @router.post("/email/confirm/{token}", response_class=HTMLResponse)
        async def confirm(token: str, request: Request) -> Response:
            contact = await self._lookup(self._contacts.confirm, token)
            if contact is None or contact.unsubscribed:
                return self._invalid(request, contact)
            return self._page(200, CONFIRMED, contact, contact.language)

        @router.get("/email/unsubscribe/{token}", response_class=HTMLResponse)
        async def unsubscribe_page(token: str, request: Request, lang: str | None = None) -> Response:
            contact = await self._lookup(self._contacts.find, token)
            if contact is None:
                return self._invalid(request, None)
            page = UNSUBSCRIBED if contact.unsubscribed else UNSUBSCRIBE
            return self._page(200, page, contact, self._language(lang, contact))

        @router.post("/email/unsubscribe/{token}", response_class=HTMLResponse)
        async def unsubscribe(token: str, request: Request, lang: str | None = None) -> Response:
            contact = await self._lookup(self._contacts.unsubscribe, token)
            if contact is None:
                return self._invalid(request, None)
            return self._page(200, UNSUBSCRIBED, contact, self._language(lang, contact))

        return router

    @staticmethod
    async def _lookup(action: Callable[[str], RouteContact | None], token: str) -> RouteContact | None:
        if not _TOKEN.match(token):
            return None
        return await run_in_threadpool(action, token)

    def _language(self, asked: str | None, contact: RouteContact) -> str:
        languages = self._catalog().languages
        if asked in languages:
            return str(asked)
        return contact.language if contact.language in languages else self._default

    def _invalid(self, request: Request, contact: RouteContact | None) -> Response:
        if contact is not None:  # a known link that no longer works (the resident unsubscribed since)
            return self._page(410, INVALID, contact, contact.language)
        language = browser_language(request.headers.get("accept-language", ""), self._catalog().languages,
                                    self._default)
        return self._page(404, INVALID, None, language)

    def _page(self, status: int, page: Page, contact: RouteContact | None, language: str) -> Response:
        catalog = self._catalog()
        params = {"address": mask_address(contact.address) if contact is not None and contact.address else "",
                  "bot_name": catalog.text(f"bot.{contact.bot}.name", language) if contact is not None else ""}
        nonce = secrets.token_urlsafe(16)
        html = _templates().get_template("page.html").render(
            lang=language, nonce=nonce, title=catalog.text(page.title, language),
            text=catalog.text(page.text, language, **params),
            button=catalog.text(page.button, language) if page.button else None)
        return HTMLResponse(html, status_code=status,
                            headers={**PAGE_HEADERS, "Content-Security-Policy": _CSP.format(nonce=nonce)})
