"""One JSON error shape for every connector: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.types import ChannelPolicy, ClientError


class ApiError(ClientError):
    """A client error found by a connector (bad body, unknown bot, unsupported language ...)."""


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """The JSON body of an error."""
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def install_error_handlers(app: FastAPI) -> None:
    """Turn API errors, validation errors and bad JSON into the common shape."""

    async def api_error(_request: Request, exc: Exception) -> JSONResponse:
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

    app.add_exception_handler(ClientError, api_error)  # ApiError and the desk's DeskError
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def check_message(policy: ChannelPolicy, bot: str, text: str, language: str | None) -> str:
    """Validate what every channel must; returns the text stripped of surrounding blanks."""
    if bot not in policy.bots:
        raise ApiError(404, "unknown_bot", f"unknown bot {bot!r}; this server has {', '.join(policy.bots)}")
    if language is not None and language not in policy.languages:
        raise ApiError(
            422, "unsupported_language", f"unsupported language {language!r}; use one of {', '.join(policy.languages)}"
        )
    stripped = text.strip()
    if not stripped:
        raise ApiError(422, "empty_message", "the message text is empty")
    if len(stripped) > policy.max_message_chars:
        raise ApiError(
            413, "message_too_long",
            f"the message has {len(stripped)} characters; the limit is {policy.max_message_chars}",
        )
    return stripped
