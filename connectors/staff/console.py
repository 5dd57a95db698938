"""The staff console: the page city staff and interpreters work in (``/staff``).

Routes (mount with :class:`StaffConsole`, next to :class:`connectors.staff.api.StaffDeskApi`,
whose JSON API and ``/ws/staff`` WebSocket the page uses):

- ``GET /staff`` the page (``?lang=ja|en`` its language, Japanese by default). Logged out it
  shows the login form; the script asks ``/api/v1/auth/me`` and switches to the queue.
- ``GET /staff/static/{name}`` its script and CSS (nothing else in the folder is served).

The page's UI strings (catalog keys ``staff.*`` and the bots' names) and the languages' names
travel in a ``<script type="application/json">`` element (the CSP allows no inline script or
style); the script is an ES module (``staff-console.js`` imports ``staff-room.js`` and ``staff-util.js``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from connectors.catalogs import CatalogSource, catalog_source
from connectors.static_files import static_file
from languages import endonyms
from translations.catalog import Catalog

HERE = Path(__file__).resolve().parent
#: Files served under ``/staff/static``.
STATIC_FILES = {
    "staff-console.js": "text/javascript; charset=utf-8",
    "staff-room.js": "text/javascript; charset=utf-8",
    "staff-util.js": "text/javascript; charset=utf-8",
    "staff-broadcasts.js": "text/javascript; charset=utf-8",
    "staff-broadcast-progress.js": "text/javascript; charset=utf-8",
    "staff.css": "text/css; charset=utf-8",
    "staff-broadcasts.css": "text/css; charset=utf-8",
}
#: Languages the console's own texts are written in (the messages follow each user's language).
PAGE_LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"
_BOT_NAME = re.compile(r"^bot\.([a-z0-9_]+)\.name$")
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def console_strings(catalog: Catalog, language: str, bots: Sequence[str]) -> dict[str, str]:
    """Every ``staff.*`` text and the bots' names in ``language``."""
    keys = sorted(key for key in catalog.keys("en") if key.startswith("staff."))
    strings = {key: catalog.text(key, language) for key in keys}
    strings.update({f"bot.{bot}.name": catalog.text(f"bot.{bot}.name", language) for bot in bots})
    return strings


def json_for_html(data: object) -> Markup:
    """``data`` as JSON that is safe inside a ``<script type="application/json">`` element."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"),
                         ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return Markup(text)  # escaped above: nothing in it can end the element


class StaffConsole:
    """The console's page and static files."""

    name = "staff-console"

    def __init__(self, bots: Sequence[str] | None = None, *, catalog: CatalogSource | None = None,
                 broadcasts: bool = False) -> None:
        """``bots`` whose names the page shows (default: every bot the catalog names); ``catalog()`` gives
        the texts (asked per request, so a reload shows; default: the catalogs on disk, read once);
        ``broadcasts``: admins get a link to the broadcasts page (``connectors.staff.broadcasts_page``)."""
        self.bots = tuple(bots) if bots is not None else None
        self.broadcasts = broadcasts
        self._catalog = catalog_source(catalog)
        self._templates = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                                      autoescape=select_autoescape(["html"]))
        self._rendered: tuple[Catalog, dict[str, str]] | None = None

    def pages(self) -> dict[str, str]:
        """The page in each of :data:`PAGE_LANGUAGES` (it depends only on its language and the catalog:
        rendered again only when the catalog was reloaded)."""
        catalog = self._catalog()
        if self._rendered is not None and self._rendered[0] is catalog:
            return self._rendered[1]
        bots = self.bots if self.bots is not None else tuple(
            match.group(1) for key in sorted(catalog.keys("en")) if (match := _BOT_NAME.match(key)))
        pages: dict[str, str] = {}
        names = endonyms()
        for language in PAGE_LANGUAGES:
            strings = console_strings(catalog, language, bots)
            pages[language] = self._templates.get_template("staff.html").render(
                lang=language, other=next(code for code in PAGE_LANGUAGES if code != language),
                strings=strings, broadcasts=self.broadcasts,
                data_json=json_for_html({"lang": language, "strings": strings, "languages": names}))
        self._rendered = (catalog, pages)
        return pages

    def router(self) -> APIRouter:
        """The routes."""
        router = APIRouter(prefix="/staff", tags=["staff-console"])

        @router.get("", response_class=HTMLResponse, include_in_schema=False)
        async def page(lang: str | None = None) -> HTMLResponse:
            language = lang if lang in PAGE_LANGUAGES else DEFAULT_LANGUAGE
            return HTMLResponse(self.pages()[language], headers=PAGE_HEADERS)

        @router.get("/static/{name}", include_in_schema=False)
        async def static(name: str) -> Response:
            return await static_file(HERE / "static", STATIC_FILES, name)

        return router
