"""Errors of the channels and the checks every channel makes.

An :class:`ApiError` is a ``bot.types.ClientError``: the app answers it as
``{"error": {"code": ..., "message": ...}}`` (``bot.http_errors``).
"""

from __future__ import annotations

from bot.types import ChannelPolicy, ClientError


class ApiError(ClientError):
    """A client error found by a connector (bad body, unknown bot, unsupported language ...)."""


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
