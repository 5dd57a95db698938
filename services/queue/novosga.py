"""A :class:`~services.queue.source.QueueSource` for NovoSGA, the open-source queue system with a REST API.

From NovoSGA's API documentation: ``POST /api/token`` (OAuth2 password grant: ``grant_type=password``,
``client_id``, ``client_secret``, ``username``, ``password`` as a form) returns ``access_token`` and
``expires_in``; ``GET /api/unidades/{id}/atendimentos`` (bearer token) lists the unit's attendances
of the day, each with ``id``, ``senha`` (``numero``, ``sigla``), ``servico`` (``id``, ``nome``),
``status`` (``emitida``, ``chamado``, ``iniciado``, ``encerrado``, ``nao_compareceu``, ``cancelada``,
``erro_triagem``), ``dataChegada``, ``dataChamada``, ``dataFim`` (local times without an offset) and
``numeroLocal`` (the counter).

Each poll turns what changed since the previous poll into events: arrival → ``issued``, a call →
``called`` (counter = ``numeroLocal``), an end (served, no-show, cancelled) → ``served``. Only the
ticket number, window, times and counter are read; the ``cliente`` (a person's name or document) never is.
An expired token (401) is renewed once per request.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from services.queue.settings import NovosgaSettings
from services.queue.types import QueueEvent, QueueEventType

log = logging.getLogger(__name__)

#: NovoSGA statuses after a call, and the statuses that end an attendance.
CALLED_STATUSES = frozenset({"chamado", "iniciado", "encerrado", "nao_compareceu"})
ENDED_STATUSES = frozenset({"encerrado", "nao_compareceu", "cancelada", "erro_triagem"})
#: Renew the token this many seconds before NovoSGA says it expires.
TOKEN_MARGIN_SECONDS = 30.0


class NovosgaError(Exception):
    """NovoSGA refused the credentials or answered something unreadable (logged by the poller, retried)."""


class NovosgaSource:
    """Polls one NovoSGA server's units (see the module docstring)."""

    name = "novosga"

    def __init__(self, settings: NovosgaSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        """``transport`` replaces the network in tests."""
        self._settings = settings
        self._transport = transport
        self._zone = ZoneInfo(settings.timezone)
        self._client: httpx.AsyncClient | None = None
        self._token: str | None = None
        self._expires = 0.0
        #: What was already turned into events, per (unit, attendance id).
        self._seen: dict[tuple[int, int], set[QueueEventType]] = {}
        self.interval = settings.poll_seconds

    async def poll(self) -> Sequence[QueueEvent]:
        """The events of every configured unit since the last poll."""
        events: list[QueueEvent] = []
        for unit, office in self._settings.units.items():
            for item in await self._get(f"/api/unidades/{unit}/atendimentos"):
                events.extend(self._events(unit, office, item))
        return events

    def rewind(self) -> None:
        """Report every attendance again on the next poll."""
        self._seen.clear()

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- HTTP -------------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self._settings.url.rstrip("/"), transport=self._transport,
                                             timeout=self._settings.timeout_seconds)
        return self._client

    async def _access_token(self, renew: bool = False) -> str:
        now = datetime.now(UTC).timestamp()
        if self._token is not None and not renew and now < self._expires:
            return self._token
        s = self._settings
        response = await self._http().post("/api/token", data={
            "grant_type": "password", "client_id": s.client_id, "client_secret": s.client_secret,
            "username": s.username, "password": s.password})
        if response.status_code != 200:
            raise NovosgaError(f"token request refused ({response.status_code})")
        body = response.json()
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise NovosgaError("token response without access_token")
        self._token = token
        self._expires = now + max(0.0, float(body.get("expires_in") or 0) - TOKEN_MARGIN_SECONDS)
        return token

    async def _get(self, path: str) -> list[dict[str, Any]]:
        for renew in (False, True):
            token = await self._access_token(renew=renew)
            response = await self._http().get(path, headers={"Authorization": f"Bearer {token}"})
            if response.status_code == 401 and not renew:
                continue  # the token expired early (a restart of NovoSGA, say): once more with a new one
            response.raise_for_status()
            body = response.json()
            if not isinstance(body, list):
                raise NovosgaError(f"{path}: expected a list")
            return [item for item in body if isinstance(item, dict)]
        raise NovosgaError(f"{path}: refused twice")

    # --- attendances to events --------------------------------------------------------------

    def _time(self, value: object) -> datetime | None:
        if not isinstance(value, str) or not value:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self._zone)

    def _events(self, unit: int, office: str, item: dict[str, Any]) -> list[QueueEvent]:
        servico, senha = item.get("servico") or {}, item.get("senha") or {}
        service = self._settings.services.get(int(servico.get("id", -1)))
        number, key = senha.get("numero"), item.get("id")
        arrived = self._time(item.get("dataChegada"))
        if service is None or not isinstance(number, int) or not isinstance(key, int) or arrived is None:
            return []
        status = str(item.get("status") or "")
        called = self._time(item.get("dataChamada"))
        ended = self._time(item.get("dataFim")) or called or arrived
        counter = item.get("numeroLocal")
        wanted: list[tuple[QueueEventType, datetime, str | None]] = [(QueueEventType.ISSUED, arrived, None)]
        if called is not None and (status in CALLED_STATUSES or status in ENDED_STATUSES):
            wanted.append((QueueEventType.CALLED, called, str(counter) if counter not in (None, "") else None))
        if status in ENDED_STATUSES:
            wanted.append((QueueEventType.SERVED, ended, None))
        seen = self._seen.setdefault((unit, key), set())
        events = [QueueEvent(office=office, type=kind, at=at, ticket=number, service=service, counter=where)
                  for kind, at, where in wanted if kind not in seen]
        seen.update(kind for kind, _at, _where in wanted)
        return events
