"""A local fake of NovoSGA's REST API, written from its documentation, served by uvicorn on 127.0.0.1.

- ``POST /api/token`` (form: ``grant_type=password``, ``client_id``, ``client_secret``, ``username``,
  ``password``) → ``{"access_token", "token_type": "bearer", "expires_in", "refresh_token"}``; wrong
  credentials → 400 ``invalid_grant``.
- ``GET /api/unidades`` and ``GET /api/unidades/{id}/atendimentos`` with ``Authorization: Bearer``;
  a missing, unknown or expired token → 401. Attendances have NovoSGA's shape (``senha``, ``servico``,
  ``status``, ``dataChegada``, ``dataChamada``, ``dataFim``, ``numeroLocal``, ``cliente``).

A test drives it like a ticketing desk: :meth:`FakeNovosga.issue`, :meth:`call`, :meth:`finish`, and
:meth:`expire_tokens` to make every token stale.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse

CLIENT_ID, CLIENT_SECRET, USERNAME, PASSWORD = "yorisoi", "client-secret", "painel", "senha-do-painel"


@dataclass
class FakeNovosga:
    """State of the fake server (units, services, attendances, tokens) and what it was asked."""

    units: dict[int, str] = field(default_factory=lambda: {1: "Unidade Norte", 2: "Unidade Sul"})
    services: dict[int, str] = field(default_factory=lambda: {10: "Registro civil", 11: "Tributos", 99: "Ouvidoria"})
    attendances: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    token_requests: int = 0
    token_seconds: int = 3600

    def issue(self, unit: int, service: int, number: int, at: datetime) -> dict[str, Any]:
        """A ticket taken at the triage (status ``emitida``); a customer's name is attached like in real data."""
        item = {
            "id": sum(len(items) for items in self.attendances.values()) + 1,
            "senha": {"numero": number, "sigla": "A", "format": f"A{number:03d}"},
            "servico": {"id": service, "nome": self.services[service]},
            "status": "emitida", "dataChegada": at.strftime("%Y-%m-%dT%H:%M:%S"), "dataChamada": None,
            "dataInicio": None, "dataFim": None, "local": None, "numeroLocal": None, "prioridade": {"id": 1},
            "cliente": {"nome": "Maria da Silva", "documento": "123.456.789-00"},
        }
        self.attendances.setdefault(unit, []).append(item)
        return item

    def _find(self, unit: int, number: int) -> dict[str, Any]:
        return next(item for item in self.attendances[unit] if item["senha"]["numero"] == number)

    def call(self, unit: int, number: int, at: datetime, counter: int) -> None:
        """A desk calls the ticket."""
        item = self._find(unit, number)
        item.update(status="chamado", dataChamada=at.strftime("%Y-%m-%dT%H:%M:%S"), numeroLocal=counter)

    def finish(self, unit: int, number: int, at: datetime, status: str = "encerrado") -> None:
        """The attendance ends (served, or ``nao_compareceu``)."""
        item = self._find(unit, number)
        item.update(status=status, dataFim=at.strftime("%Y-%m-%dT%H:%M:%S"))

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (NovoSGA restarted, say)."""
        self.tokens.clear()

    def app(self) -> FastAPI:
        """The HTTP API."""
        app = FastAPI()

        def authorised(request: Request) -> bool:
            header = request.headers.get("authorization", "")
            token = header[7:] if header.lower().startswith("bearer ") else ""
            return self.tokens.get(token, 0.0) > time.monotonic()

        def unauthorised() -> JSONResponse:
            return JSONResponse({"error": "invalid_token"}, status_code=401)

        @app.post("/api/token")
        async def token(grant_type: str = Form(...), client_id: str = Form(...), client_secret: str = Form(...),
                        username: str = Form(""), password: str = Form("")) -> JSONResponse:
            self.token_requests += 1
            if (grant_type, client_id, client_secret, username, password) != (
                    "password", CLIENT_ID, CLIENT_SECRET, USERNAME, PASSWORD):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            value = secrets.token_hex(16)
            self.tokens[value] = time.monotonic() + self.token_seconds
            return JSONResponse({"access_token": value, "token_type": "bearer", "expires_in": self.token_seconds,
                                 "refresh_token": secrets.token_hex(16), "scope": None})

        @app.get("/api/unidades")
        async def units(request: Request) -> Any:
            if not authorised(request):
                return unauthorised()
            return [{"id": uid, "nome": name, "ativo": True} for uid, name in self.units.items()]

        @app.get("/api/unidades/{unit}/atendimentos")
        async def attendances(unit: int, request: Request) -> Any:
            if not authorised(request):
                return unauthorised()
            if unit not in self.units:
                return JSONResponse({"error": "not found"}, status_code=404)
            return self.attendances.get(unit, [])

        return app

