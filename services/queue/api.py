"""The queue service's JSON API.

- ``POST /api/v1/queues/{office_id}/events`` (ticketing systems): ``Authorization: Bearer <token>``
  (``YORISOI_QUEUE_TOKEN`` for every office, or the office's token in ``connectors.queues.office_tokens``);
  body ``{"type": "issued|called|served|counter_open|counter_closed|reset", "ticket": 245, "counter": "3",
  "service": "resident_records", "at": "2026-12-02T10:15:00+09:00"}`` → 201 ``{"duplicate": false,
  "notices": 1, "qr_url": "/q/north/245?d=...&s=..."}`` (200 and ``"duplicate": true`` for an event
  already stored: idempotent by office, type, ticket and time). A JSON array of up to 500 events (a
  machine's backlog after an outage) is applied in order in one transaction → ``{"events": [{"duplicate",
  "qr_url"}], "notices"}``. 401 without a valid token, 400 for malformed JSON, 422 for a bad body
  (unknown field or type, no time zone, a window the office does not have: the whole batch is
  refused), 404 for an unknown office.
- ``GET /api/v1/queues?lang=en`` → ``{"offices": [{"id", "name", "services": [...], "waiting", "calling",
  "estimated_wait_minutes", "updated_at", "open", "available", "hours"}]}``; ``GET /api/v1/queues/{office_id}``
  one office (404 unknown). Public: counts and ticket numbers only.
- ``GET /api/v1/queues/stream?lang=en`` Server-Sent Events: the same ``{"offices": [...]}`` whenever it
  changes (woken by the commits of new events through ``bot.live``; a comment every 15 s keeps it open).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from bot.protocols import LiveUpdates
from bot.types import ClientError
from services.queue.runtime import QueueRuntime
from services.queue.settings import QUEUE_TOKEN_VARIABLE
from services.queue.store import QUEUES_TOPIC
from services.queue.types import QueueEvent, QueueEventType
from services.queue.views import office_json, offices_json

#: A stream sends a comment this often when nothing changed (proxies close silent connections).
KEEPALIVE_SECONDS = 15.0
#: The most events one request may carry (a machine sending what it buffered while offline).
MAX_BATCH = 500
OFFICE_ID = Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")


class EventBody(BaseModel):
    """One event of a ticketing system."""

    model_config = ConfigDict(extra="forbid")

    type: QueueEventType
    ticket: int | None = Field(default=None, ge=1, le=99_999)
    counter: str | None = Field(default=None, min_length=1, max_length=32)
    service: str | None = Field(default=None, min_length=1, max_length=64)
    at: AwareDatetime


def _described(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in item['loc']) or 'body'}: {item['msg']}" for item in error.errors())


class QueueApi:
    """Routes of the JSON API on a :class:`~services.queue.runtime.QueueRuntime`."""

    def __init__(self, runtime: QueueRuntime, environ: Mapping[str, str], languages: Sequence[str],
                 default_language: str, live: LiveUpdates | None = None) -> None:
        self.runtime = runtime
        self.environ = environ
        self.languages = tuple(languages)
        self.default_language = default_language
        self.live = live

    def language(self, lang: str | None) -> str:
        """``lang`` when configured (422 otherwise); the default language when not given."""
        if lang is None:
            return self.default_language
        if lang not in self.languages:
            raise ClientError(422, "unsupported_language",
                              f"unsupported language {lang!r}; use one of {', '.join(self.languages)}")
        return lang

    def authorised(self, request: Request, office: str) -> bool:
        """Whether the bearer token is the global ingest token or ``office``'s own (constant time)."""
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        allowed = (self.environ.get(QUEUE_TOKEN_VARIABLE, ""), self.runtime.settings.office_tokens.get(office, ""))
        return bool(token) and any(secrets.compare_digest(token.encode(), candidate.encode())
                                   for candidate in allowed if candidate)

    def snapshot(self, language: str) -> dict[str, Any]:
        """``{"offices": [...]}`` now (blocking: call it in a worker thread)."""
        runtime = self.runtime
        return offices_json(runtime.board.offices(runtime.now()), runtime.directory(), language)

    def router(self) -> APIRouter:
        """The routes (see the module docstring)."""
        router = APIRouter(tags=["queues"])
        runtime = self.runtime

        @router.post("/api/v1/queues/{office_id}/events")
        async def ingest(request: Request, office_id: str = OFFICE_ID) -> JSONResponse:
            if not self.authorised(request, office_id):
                raise ClientError(401, "unauthorized", "send the queue ingest token as 'Authorization: Bearer <token>'")
            try:
                data = json.loads(await request.body())
            except ValueError:
                raise ClientError(400, "malformed_json", "the request body is not valid JSON") from None
            batch = isinstance(data, list)
            if batch and not 1 <= len(data) <= MAX_BATCH:
                raise ClientError(422, "invalid_event", f"a batch holds 1 to {MAX_BATCH} events")
            try:
                bodies = [EventBody.model_validate(item) for item in (data if batch else [data])]
            except ValidationError as error:
                raise ClientError(422, "invalid_event", _described(error)) from None
            events = [QueueEvent(office=office_id, type=body.type, at=body.at, ticket=body.ticket,
                                 service=body.service, counter=body.counter) for body in bodies]
            results = await run_in_threadpool(runtime.ingest.record_many, events)
            status = 200 if all(result.duplicate for result in results) else 201
            if not batch:
                result = results[0]
                return JSONResponse({"duplicate": result.duplicate, "notices": result.notices,
                                     "qr_url": result.qr_url}, status_code=status)
            return JSONResponse({"events": [{"duplicate": r.duplicate, "qr_url": r.qr_url} for r in results],
                                 "notices": sum(r.notices for r in results)}, status_code=status)

        @router.get("/api/v1/queues")
        async def offices(lang: str | None = None) -> dict[str, Any]:
            return await run_in_threadpool(self.snapshot, self.language(lang))

        @router.get("/api/v1/queues/stream")
        async def stream(request: Request, lang: str | None = None) -> StreamingResponse:
            language = self.language(lang)
            return StreamingResponse(self._events(request, language), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

        @router.get("/api/v1/queues/{office_id}")
        async def office(office_id: str = OFFICE_ID, lang: str | None = None) -> dict[str, Any]:
            language = self.language(lang)
            state = await run_in_threadpool(runtime.board.office, office_id, runtime.now())
            if state is None:
                raise ClientError(404, "unknown_office", f"no office {office_id!r} reports queues here")
            return office_json(state, runtime.directory(), language)

        return router

    async def _events(self, request: Request, language: str) -> AsyncIterator[str]:
        """The stream: the state at once, then whenever it changed (at most once per ``refresh_seconds``)."""
        watch_topic: Callable[[str], Any] | None = getattr(self.live, "watch", None)
        watch = watch_topic(QUEUES_TOPIC) if watch_topic is not None else None
        refresh = self.runtime.settings.refresh_seconds
        last, quiet = "", 0.0
        try:
            while not await request.is_disconnected():
                data = json.dumps(await run_in_threadpool(self.snapshot, language), ensure_ascii=False)
                if data != last:
                    last, quiet = data, 0.0
                    yield f"event: offices\ndata: {data}\n\n"
                elif quiet >= KEEPALIVE_SECONDS:
                    quiet = 0.0
                    yield ": still here\n\n"
                await asyncio.sleep(refresh)  # never more than one look per refresh, however busy the windows
                quiet += refresh
                if watch is not None:
                    waited = max(0.0, KEEPALIVE_SECONDS - quiet)
                    woken = await watch.wait(timeout=waited)
                    quiet += 0.0 if woken else waited
        finally:
            if watch is not None:
                watch.close()
