"""The console's broadcasts page (``/staff/broadcasts``): administrators compose, preview, send and follow.

- Logged out: a redirect (303) to ``/staff`` (the login form); logged in without the admin role:
  403 with a short page pointing back to the queue; admins: the page.
- The page is plain HTML with the catalog's ``staff.*`` texts (Japanese, English with ``?lang=en``),
  enhanced by the web components of ``staff-broadcasts.js``. They call the broadcasts API of the
  ``admin`` channel (:mod:`connectors.admin.api`) with the console's session cookie: a dry run to
  preview, ``/render`` per language, the broadcast itself, then its status every 2 s.

Audience filters are fieldsets marked ``data-audience="<name>"`` in ``broadcasts.html``: a new
filter of the API (districts, say) is one more fieldset there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.enums import Role
from bot.protocols import StaffAuth, StaffUser
from connectors.catalogs import CatalogSource, catalog_source
from connectors.staff.api import COOKIE
from connectors.staff.console import (
    DEFAULT_LANGUAGE,
    HERE,
    PAGE_HEADERS,
    PAGE_LANGUAGES,
    console_strings,
    json_for_html,
)
from languages import endonyms

PATH = "/staff/broadcasts"


class BroadcastsPage:
    """The page (admins only); the work is done in the browser against the admin API."""

    name = "staff-broadcasts"

    def __init__(self, accounts: StaffAuth, *, bots: Sequence[str], languages: Sequence[str], channels: Iterable[str],
                 catalog: CatalogSource | None = None) -> None:
        """``bots`` to choose from, the configured ``languages`` (one text field each) and the resident
        ``channels`` an audience may name; ``catalog()`` gives the texts (asked per request)."""
        self.accounts = accounts
        self.bots = tuple(bots)
        self.languages = tuple(languages)
        self.channels = tuple(sorted(channels))
        self._catalog = catalog_source(catalog)
        self._templates = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                                      autoescape=select_autoescape(["html"]))

    def render(self, language: str, user: StaffUser, *, allowed: bool) -> str:
        """The page in ``language`` for ``user`` (only the note that it is for admins when not ``allowed``)."""
        catalog = self._catalog()
        strings = console_strings(catalog, language, self.bots)
        role = catalog.text(f"staff.role.{user.role.value}", language)
        names = endonyms()
        return self._templates.get_template("broadcasts.html").render(
            lang=language, other=next(code for code in PAGE_LANGUAGES if code != language), strings=strings,
            who=catalog.text("staff.logged_in_as", language, name=user.display_name, role=role), allowed=allowed,
            bots=self.bots, channels=self.channels,
            languages=[(code, names.get(code, code)) for code in self.languages],
            data_json=json_for_html({"lang": language, "strings": strings, "languages": names}),
        )

    def router(self) -> APIRouter:
        """``GET /staff/broadcasts``."""
        router = APIRouter(tags=["staff-console"])

        @router.get(PATH, response_class=HTMLResponse, include_in_schema=False)
        async def page(request: Request, lang: str | None = None) -> Response:
            language = lang if lang in PAGE_LANGUAGES else DEFAULT_LANGUAGE
            user = await self._user(request)
            if user is None:
                return RedirectResponse(f"/staff?lang={language}", status_code=303, headers=PAGE_HEADERS)
            allowed = user.role == Role.ADMIN
            return HTMLResponse(self.render(language, user, allowed=allowed), status_code=200 if allowed else 403,
                                headers=PAGE_HEADERS)

        return router

    async def _user(self, request: Request) -> StaffUser | None:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(COOKIE, "")
        return await run_in_threadpool(self.accounts.user_for_token, token) if token else None
