"""The console's JSON API and its live-update WebSocket.

- ``POST /api/v1/auth/login`` ``{"username", "password"}`` → ``{"token", "user"}`` and the session
  cookie; ``POST /api/v1/auth/logout``; ``GET /api/v1/auth/me``.
- ``GET /api/v1/handoffs`` (``?include_closed=true``) → ``{"handoffs": [...]}`` each with ``id``, ``bot``,
  ``sender``, ``status``, ``language``, ``waiting_seconds`` ...; ``GET /api/v1/handoffs/{id}`` the room.
- ``POST /api/v1/handoffs/{id}/claim`` (``{"user"}`` assigns), ``.../messages`` ``{"text", "language"?,
  "canned"?}``, ``.../participants`` ``{"role": "interpreter", "user"}``, ``.../notes`` ``{"text"}``,
  ``PUT .../labels`` ``{"labels"}``, ``POST .../resolve``, ``GET .../transcript`` (text download).
- ``GET /api/v1/staff/canned``, ``GET /api/v1/staff/interpreters?language=``.
- ``WS /ws/staff``: ``{"type": "changed"}`` whenever the queue or a room changes (the console refetches).

Every call but login needs the session cookie or ``Authorization: Bearer <token>``: 401 without a
valid one, 403 when the role may not do it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from bot.channels import StaffDeskServices
from bot.enums import Role
from bot.protocols import HandoffDesk, HandoffRoom, LiveUpdates, StaffAuth, StaffDirectory, StaffUser
from connectors.errors import ApiError

log = logging.getLogger(__name__)

COOKIE = "yorisoi_staff"
#: How often a console's WebSocket looks for changes when the app gives no live wake-ups (every server
#: sees every change: it is in SQL).
POLL_SECONDS = 1.0


class LoginRequest(BaseModel):
    """Console login."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class ClaimRequest(BaseModel):
    """Take a handoff, or assign it to ``user``."""

    model_config = ConfigDict(extra="forbid")

    user: str | None = Field(default=None, max_length=64)


class PostRequest(BaseModel):
    """A message to the resident: free text (``language`` it is written in, if not the writer's) or a canned reply."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", max_length=5000)
    language: str | None = Field(default=None, max_length=16)
    canned: str | None = Field(default=None, max_length=64)


class ParticipantRequest(BaseModel):
    """Invite someone into the room."""

    model_config = ConfigDict(extra="forbid")

    role: str = Field(max_length=16)
    user: str = Field(min_length=1, max_length=64)


class NoteRequest(BaseModel):
    """A private note."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000)


class LabelsRequest(BaseModel):
    """The labels of a handoff."""

    model_config = ConfigDict(extra="forbid")

    labels: list[str] = Field(max_length=20)


class StaffDeskApi:
    """Routes of the console's API."""

    name = "staff-api"

    def __init__(self, auth: StaffAuth, desk: StaffDeskServices, *, secure_cookie: bool = False,
                 live: LiveUpdates | None = None) -> None:
        """``desk`` implements :class:`HandoffDesk`, :class:`HandoffRoom` and :class:`StaffDirectory`;
        ``live`` wakes the consoles' sockets when the desk changes (None: they poll every second)."""
        self.auth = auth
        self.queue: HandoffDesk = desk
        self.rooms: HandoffRoom = desk
        self.directory: StaffDirectory = desk
        self.secure_cookie = secure_cookie
        self.live = live

    def token_of(self, request: Request | WebSocket) -> str:
        """The bearer token, else the session cookie ('' when neither)."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.cookies.get(COOKIE, "")

    async def current_user(self, request: Request) -> StaffUser:
        """The logged-in user; 401 otherwise."""
        token = self.token_of(request)
        user = await run_in_threadpool(self.auth.user_for_token, token) if token else None
        if user is None:
            raise ApiError(401, "unauthorized", "log in first (session cookie or bearer token)")
        return user

    def router(self) -> APIRouter:
        """The API routes."""
        router = APIRouter(tags=["staff"])
        user_dependency = Depends(self.current_user)

        @router.post("/api/v1/auth/login")
        async def login(body: LoginRequest) -> JSONResponse:
            session = await run_in_threadpool(self.auth.login, body.username, body.password)
            if session is None:
                raise ApiError(401, "invalid_credentials", "wrong username or password")
            log.info("console login of %s", session.user.username)
            response = JSONResponse({"token": session.token, "user": session.user.to_json()})
            lifetime = int((session.expires_at - datetime.now(UTC)).total_seconds())
            response.set_cookie(COOKIE, session.token, httponly=True, samesite="strict", secure=self.secure_cookie,
                                path="/", max_age=max(lifetime, 0))
            return response

        @router.post("/api/v1/auth/logout")
        async def logout(request: Request) -> Response:
            token = self.token_of(request)
            if token:
                await run_in_threadpool(self.auth.logout, token)
            response = Response(status_code=204)
            response.delete_cookie(COOKIE, path="/")
            return response

        @router.get("/api/v1/auth/me")
        async def me(user: StaffUser = user_dependency) -> dict[str, Any]:
            return {"user": user.to_json()}

        @router.get("/api/v1/handoffs")
        async def list_handoffs(include_closed: bool = False, user: StaffUser = user_dependency) -> dict[str, Any]:
            handoffs = await run_in_threadpool(self.queue.queue, user, include_closed=include_closed)
            return {"handoffs": [handoff.to_json() for handoff in handoffs]}

        @router.get("/api/v1/handoffs/{handoff_id}")
        async def get_room(handoff_id: int, user: StaffUser = user_dependency) -> dict[str, Any]:
            return (await run_in_threadpool(self.rooms.room, user, handoff_id)).to_json()

        @router.get("/api/v1/handoffs/{handoff_id}/messages")
        async def get_messages(handoff_id: int, user: StaffUser = user_dependency) -> dict[str, Any]:
            return (await run_in_threadpool(self.rooms.room, user, handoff_id)).to_json()

        @router.post("/api/v1/handoffs/{handoff_id}/claim")
        async def claim(handoff_id: int, body: ClaimRequest | None = None,
                        user: StaffUser = user_dependency) -> dict[str, Any]:
            handoff = await run_in_threadpool(self.queue.claim, user, handoff_id, body.user if body else None)
            return {"handoff": handoff.to_json()}

        @router.post("/api/v1/handoffs/{handoff_id}/messages", status_code=201)
        async def post_message(handoff_id: int, body: PostRequest, user: StaffUser = user_dependency) -> dict[str, Any]:
            if not body.canned and not body.text.strip():
                raise ApiError(422, "empty_message", "write a message or choose a canned reply")
            message = await run_in_threadpool(self.rooms.post, user, handoff_id, body.text, language=body.language,
                                              canned=body.canned)
            return {"message": message.to_json()}

        @router.post("/api/v1/handoffs/{handoff_id}/participants", status_code=201)
        async def add_participant(handoff_id: int, body: ParticipantRequest,
                                  user: StaffUser = user_dependency) -> dict[str, Any]:
            handoff = await run_in_threadpool(self.queue.invite, user, handoff_id, _invited_role(body.role), body.user)
            return {"handoff": handoff.to_json()}

        @router.post("/api/v1/handoffs/{handoff_id}/notes", status_code=201)
        async def add_note(handoff_id: int, body: NoteRequest, user: StaffUser = user_dependency) -> dict[str, Any]:
            notes = await run_in_threadpool(self.rooms.note, user, handoff_id, body.text)
            return {"notes": [note.to_json() for note in notes]}

        @router.put("/api/v1/handoffs/{handoff_id}/labels")
        async def set_labels(handoff_id: int, body: LabelsRequest, user: StaffUser = user_dependency) -> dict[str, Any]:
            return {"handoff": (await run_in_threadpool(self.rooms.label, user, handoff_id, body.labels)).to_json()}

        @router.post("/api/v1/handoffs/{handoff_id}/resolve")
        async def resolve(handoff_id: int, user: StaffUser = user_dependency) -> dict[str, Any]:
            return {"handoff": (await run_in_threadpool(self.queue.resolve, user, handoff_id)).to_json()}

        @router.get("/api/v1/handoffs/{handoff_id}/transcript")
        async def transcript(handoff_id: int, user: StaffUser = user_dependency) -> PlainTextResponse:
            text = await run_in_threadpool(self.rooms.transcript, user, handoff_id)
            return PlainTextResponse(text, headers={
                "Content-Disposition": f'attachment; filename="yorisoi-handoff-{handoff_id}.txt"',
                "Cache-Control": "no-store"})

        @router.get("/api/v1/staff/canned")
        async def canned(user: StaffUser = user_dependency) -> dict[str, Any]:
            return {"canned": [reply.to_json() for reply in self.directory.canned(user.language)]}

        @router.get("/api/v1/staff/interpreters")
        async def interpreters(language: str | None = None, user: StaffUser = user_dependency) -> dict[str, Any]:
            if user.role == Role.INTERPRETER:
                raise ApiError(403, "forbidden", "only staff invite interpreters")
            found = await run_in_threadpool(self.directory.interpreters, language)
            return {"interpreters": [profile.to_json() for profile in found]}

        @router.websocket("/ws/staff")
        async def live(websocket: WebSocket) -> None:
            token = self.token_of(websocket) or websocket.query_params.get("token", "")
            user = await run_in_threadpool(self.auth.user_for_token, token) if token else None
            await websocket.accept()
            if user is None:  # accepted first, so the browser sees the reason instead of a failed handshake
                await websocket.close(code=4401, reason="log in first")
                return
            await self._watch(websocket, user)

        return router

    async def _watch(self, websocket: WebSocket, user: StaffUser) -> None:
        """Send "changed" whenever the desk's fingerprint moves: looked up when the desk is published
        (``live``) and every ``live.poll_seconds`` anyway, or every :data:`POLL_SECONDS` without ``live``."""
        seen = ""
        receiver = asyncio.create_task(_drain(websocket))
        watch = self.live.desk() if self.live is not None else None  # before the first look: nothing slips by
        try:
            while not receiver.done():
                fingerprint = await run_in_threadpool(self.queue.fingerprint, user)
                if fingerprint != seen:
                    await websocket.send_json({"type": "changed", "fingerprint": fingerprint})
                    seen = fingerprint
                if watch is None:
                    await asyncio.wait({receiver}, timeout=POLL_SECONDS)
                    continue
                woken = asyncio.create_task(watch.wait())
                try:
                    await asyncio.wait({receiver, woken}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    woken.cancel()
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            receiver.cancel()
            if watch is not None:
                watch.close()


def _invited_role(name: str) -> Role:
    """The role a participant is invited with (422 for a string that is no role)."""
    try:
        return Role(name)
    except ValueError:
        raise ApiError(422, "invalid_role", "role must be interpreter or staff") from None


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client frames until the console goes away."""
    try:
        while True:
            await websocket.receive_text()
    except (WebSocketDisconnect, RuntimeError):
        return
