"""The secure form pages, where a resident types secret slot values once (channel-independent).

A form that needs a PIN, a password or a registration number sends the resident a short-lived
link instead of asking in the chat; the page works in LINE's in-app browser, next to the widget
and on the kiosk. Routes (mount with :class:`SecureFormPages`):

- ``GET /secure/{token}`` the form in the conversation's language (labels from the catalog,
  masked inputs for PINs and passwords); the link is not used up by looking at it,
- ``POST /secure/{token}`` (``application/x-www-form-urlencoded``) sends it: 200 and a "done"
  page; 410 when the link is expired or was used (it works exactly once); 422 with the form again
  when a field is empty; 404 for something that is not a token at all.

The pages load nothing from elsewhere (inline style and script under a per-response nonce), are
never cached (``Cache-Control: no-store``) and send no referrer. Nothing typed here, nor the
token, is logged; ``bot.privacy.AccessLogFilter`` redacts the token from access logs.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.protocols import SecureFormService, SecureFormView
from languages import browser_language
from translations.catalog import Catalog

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
#: What a token looks like (``secrets.token_urlsafe``): anything else is not looked up at all.
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"
_TOKEN = re.compile(TOKEN_PATTERN)
#: A form of a few short fields never needs more.
MAX_BODY_BYTES = 8_192
MAX_FIELDS = 20
#: ``maxlength`` of the inputs (the service refuses longer values too).
MAX_VALUE_CHARS = 256
#: Catalog keys ``secure.<name>`` the pages show.
PAGE_TEXTS = ("title", "explain", "submit", "done", "expired", "required")
_CSP = ("default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'")
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}


@lru_cache(maxsize=2)
def _templates(folder: str) -> Environment:
    return Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(["html"]))


class SecureFormPages:
    """The routes of the secure form pages."""

    name = "secure"

    def __init__(self, catalog: Callable[[], Catalog] | None = None, default_language: str = "ja") -> None:
        """``catalog`` gives the current catalog (a reload replaces it); ``default_language`` is used for a
        dead link when the browser asks for no language the catalog has."""
        self._catalog = catalog or _loaded_once()
        self.default_language = default_language

    def router(self, service: SecureFormService) -> APIRouter:
        """``GET`` and ``POST /secure/{token}`` on ``service``."""
        router = APIRouter()

        @router.get("/secure/{token}", response_class=HTMLResponse, include_in_schema=False)
        async def form_page(token: str, request: Request) -> Response:
            if not _TOKEN.match(token):
                return self._notice(404, "expired", self._browser_language(request))
            view = await run_in_threadpool(service.describe, token)
            if view is None:
                return self._notice(410, "expired", self._browser_language(request))
            return self._form(200, view)

        @router.post("/secure/{token}", response_class=HTMLResponse, include_in_schema=False)
        async def submit_form(token: str, request: Request) -> Response:
            if not _TOKEN.match(token):
                return self._notice(404, "expired", self._browser_language(request))
            view = await run_in_threadpool(service.describe, token)
            if view is None:
                return self._notice(410, "expired", self._browser_language(request))
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != "application/x-www-form-urlencoded":
                return PlainTextResponse("expected a form (application/x-www-form-urlencoded)", status_code=415)
            body = await _read_body(request)
            if body is None:
                return PlainTextResponse("the form is too large", status_code=413)
            try:
                posted = _parse_form(body)
            except ValueError:
                return PlainTextResponse("the form is malformed", status_code=400)
            values = {field.name: posted.get(field.name, "") for field in view.fields}
            empty = {name for name, value in values.items() if not value.strip()}
            if empty:
                return self._form(422, view, invalid=empty)
            try:
                done = await run_in_threadpool(service.submit, token, values)
            except ValueError:
                return self._form(422, view, invalid=set())
            if not done:
                return self._notice(410, "expired", view.language)
            log.debug("a secure form was submitted")
            return self._notice(200, "done", view.language)

        return router

    def _browser_language(self, request: Request) -> str:
        """For a dead link (its conversation's language is not told): the browser's, else the default."""
        return browser_language(request.headers.get("accept-language", ""), self._catalog().languages,
                                self.default_language)

    def _texts(self, language: str) -> dict[str, str]:
        return {name: self._catalog().text(f"secure.{name}", language) for name in PAGE_TEXTS}

    def _form(self, status: int, view: SecureFormView, invalid: set[str] | None = None) -> Response:
        texts = self._texts(view.language)
        names = [field.name for field in view.fields]
        focus = next((name for name in names if name in (invalid or ())), names[0] if names else None)
        return self._render("form.html", status, view.language, texts=texts, fields=view.fields,
                            invalid=invalid or set(), error=texts["required"] if invalid is not None else None,
                            focus=focus, max_chars=MAX_VALUE_CHARS)

    def _notice(self, status: int, which: str, language: str) -> Response:
        texts = self._texts(language)
        return self._render("notice.html", status, language, texts=texts, notice=texts[which])

    @staticmethod
    def _render(template: str, status: int, language: str, **context: Any) -> Response:
        nonce = secrets.token_urlsafe(16)
        html = _templates(str(HERE / "templates")).get_template(template).render(lang=language, nonce=nonce,
                                                                                 **context)
        headers = {**PAGE_HEADERS, "Content-Security-Policy": _CSP.format(nonce=nonce)}
        return HTMLResponse(html, status_code=status, headers=headers)




async def _read_body(request: Request) -> bytes | None:
    """The request body, or None when it is longer than :data:`MAX_BODY_BYTES`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_form(body: bytes) -> Mapping[str, str]:
    """The fields of an URL-encoded body (the first of repeated names); ValueError when malformed."""
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=False,
                                 encoding="utf-8", errors="strict", max_num_fields=MAX_FIELDS):
        fields.setdefault(name, value)
    return fields


def _loaded_once() -> Callable[[], Catalog]:
    """The shipped catalog, read once (standalone use without a core)."""
    catalog = Catalog.load()
    return lambda: catalog
