"""The broadcasts API: notifications to many residents of a bot, for administrators.

- ``POST /api/v1/admin/broadcasts`` ``{"bot", "kind"?, "audience": {"channel"?, "languages"?,
  "conversation_ids"?, "districts"?}, "message": {"<lang>": "text", ...} | {"key": "catalog.key",
  "params": {}}, "dry_run"?}`` → ``{"id", "recipients", "missing_languages"}``. ``kind`` is
  ``notice`` (default), ``reminder`` or ``disaster`` (disaster alerts ignore quiet hours).
  ``missing_languages`` are recipients' languages without a text of their own (they get a machine
  translation marked as such, or the fallback language): with ``"dry_run": true`` nothing is sent,
  so the warning can be read first.
- ``GET /api/v1/admin/broadcasts/{id}`` → ``{"status": "queued|sending|done", "sent", "failed",
  "skipped", "pending", "recipients", "dead_letters": [...]}``.
- ``GET /api/v1/admin/broadcasts?limit=20&bot=`` → ``{"broadcasts": [...]}``: the most recent first
  (``limit`` 1–100), each with ``id``, ``bot``, ``kind``, ``status``, ``created_at``, ``created_by``,
  ``message`` (its catalog key or the languages written, never the texts) and the counts.
- ``POST /api/v1/admin/broadcasts/render`` ``{"bot", "message", "language"}`` → what a follower reading
  ``language`` would get: ``{"language", "text", "own_text", "machine_translated", "original",
  "original_language", "fallback_language"}``. Nothing is stored (the console's preview per language).

Authorisation: ``Authorization: Bearer <YORISOI_ADMIN_TOKEN>``, or an admin's console session (its
bearer token, or the console's session cookie, which is SameSite=Strict: other sites cannot send it);
401 without a valid one, 403 for a console user who is not an admin (requests
from this machine get no exception here: a broadcast reaches every resident). 422 for an unknown
bot, channel, language or catalog key, an empty message, or a ``districts`` filter (no district is
stored per resident yet).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from bot.enums import Role
from bot.protocols import Broadcasts, StaffAuth
from connectors.errors import ApiError
from connectors.staff.api import COOKIE as CONSOLE_COOKIE

ADMIN_TOKEN_VARIABLE = "YORISOI_ADMIN_TOKEN"
#: Who sent a broadcast authorised by the admin token (console sessions give their username).
TOKEN_AUTHOR = "admin-token"
MAX_FILTER_ITEMS = 10_000
#: Broadcasts one listing returns at most.
MAX_LISTED = 100


class AudienceBody(BaseModel):
    """Who receives a broadcast: every active follower of the bot, narrowed by each filter given."""

    model_config = ConfigDict(extra="forbid")

    channel: str | list[str] | None = None
    languages: list[str] | None = Field(default=None, max_length=100)
    conversation_ids: list[str] | None = Field(default=None, max_length=MAX_FILTER_ITEMS)
    districts: list[str] | None = Field(default=None, max_length=1000)


class BroadcastBody(BaseModel):
    """A broadcast to send (or, with ``dry_run``, only to count)."""

    model_config = ConfigDict(extra="forbid")

    bot: str = Field(min_length=1, max_length=32)
    kind: str = Field(default="notice", max_length=16)
    audience: AudienceBody = Field(default_factory=AudienceBody)
    message: dict[str, Any]
    dry_run: bool = False


class RenderBody(BaseModel):
    """A message to render for one reader language (the console's preview)."""

    model_config = ConfigDict(extra="forbid")

    bot: str = Field(min_length=1, max_length=32)
    message: dict[str, Any]
    language: str = Field(min_length=1, max_length=16)


class BroadcastsApi:
    """Routes of the broadcasts API on a :class:`bot.protocols.Broadcasts`."""

    def __init__(self, broadcasts: Broadcasts, accounts: StaffAuth | None, environ: Mapping[str, str],
                 channels: Callable[[], frozenset[str]], bots: tuple[str, ...] = ()) -> None:
        """``channels()``: the channel names an audience may name (the enabled ones); ``bots``: the bots a
        listing may be narrowed to (any when empty)."""
        self.broadcasts = broadcasts
        self.accounts = accounts
        self.environ = environ
        self.channels = channels
        self.bots = bots

    async def administrator(self, request: Request) -> str:
        """Who is asking (``admin-token`` or an admin's username); 401 / 403 otherwise."""
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get(CONSOLE_COOKIE, "")
        if not token:
            raise ApiError(401, "unauthorized", "send the admin token or an admin's session as a bearer token")
        admin_token = self.environ.get(ADMIN_TOKEN_VARIABLE, "")
        if admin_token and secrets.compare_digest(token.encode(), admin_token.encode()):
            return TOKEN_AUTHOR
        user = await run_in_threadpool(self.accounts.user_for_token, token) if self.accounts else None
        if user is None:
            raise ApiError(401, "unauthorized", "the bearer token is neither the admin token nor a valid session")
        if user.role != Role.ADMIN:
            raise ApiError(403, "forbidden", "broadcasts need an admin account")
        return user.username

    def router(self) -> APIRouter:
        """The broadcasts: send (or preview), list, render one language, and follow one."""
        router = APIRouter(tags=["admin"])
        admin = Depends(self.administrator)

        @router.post("/api/v1/admin/broadcasts")
        async def send(body: BroadcastBody, author: str = admin) -> dict[str, Any]:
            audience = self._audience(body.audience)
            return await run_in_threadpool(
                lambda: self.broadcasts.send(body.bot, audience, body.message, kind=body.kind, created_by=author,
                                             dry_run=body.dry_run))

        @router.get("/api/v1/admin/broadcasts")
        async def recent(limit: int = Query(default=20, ge=1, le=MAX_LISTED),
                         bot: str | None = Query(default=None, max_length=32),
                         _author: str = admin) -> dict[str, Any]:
            if bot is not None and self.bots and bot not in self.bots:
                raise ApiError(422, "unknown_bot", f"unknown bot {bot!r}; use one of {', '.join(self.bots)}")
            return {"broadcasts": await run_in_threadpool(self.broadcasts.recent, limit, bot)}

        @router.post("/api/v1/admin/broadcasts/render")
        async def render(body: RenderBody, _author: str = admin) -> dict[str, Any]:
            return await run_in_threadpool(self.broadcasts.render, body.bot, body.message, body.language)

        @router.get("/api/v1/admin/broadcasts/{broadcast_id}")
        async def status(broadcast_id: int, _author: str = admin) -> dict[str, Any]:
            found = await run_in_threadpool(self.broadcasts.status, broadcast_id)
            if found is None:
                raise ApiError(404, "not_found", f"no broadcast {broadcast_id}")
            return found

        return router

    def _audience(self, body: AudienceBody) -> dict[str, Any]:
        channels = [body.channel] if isinstance(body.channel, str) else list(body.channel or ())
        known = self.channels()
        unknown = [name for name in channels if name not in known]
        if unknown:
            raise ApiError(422, "invalid_audience", f"audience.channel: no channel {unknown[0]!r}; "
                                                    f"use one of {', '.join(sorted(known))}")
        return {"channels": channels, "languages": body.languages or [],
                "conversation_ids": body.conversation_ids or [], "districts": body.districts or []}
