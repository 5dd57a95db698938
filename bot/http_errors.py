"""One JSON error shape for the whole app: ``{"error": {"code": ..., "message": ...}}``.

Channels raise :class:`bot.types.ClientError` (or a subclass of it); the app factory installs
:func:`install_error_handlers`, which turns those, validation errors and bad JSON into this shape.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.types import ClientError


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """The JSON body of an error."""
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def install_error_handlers(app: FastAPI) -> None:
    """Turn client errors, validation errors and bad JSON into the common shape."""

    async def client_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ClientError)
        return error_response(exc.status, exc.code, exc.message)

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = exc.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            return error_response(400, "malformed_json", "the request body is not valid JSON")
        described = "; ".join(
            f"{'.'.join(str(part) for part in p.get('loc', ()) if part != 'body') or 'body'}: {p.get('msg')}"
            for p in problems
        )
        return error_response(422, "invalid_request", described)

    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return error_response(exc.status_code, "http_error", str(exc.detail))

    app.add_exception_handler(ClientError, client_error)  # the channels' ApiError and the desk's DeskError
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
