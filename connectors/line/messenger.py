"""A thin async wrapper of LINE's Messaging API (reply, push, loading animation, profile).

Uses the official SDK (``linebot.v3.messaging``). One :class:`LineMessenger` is opened per delivery
(``async with``) so that its HTTP session belongs to the event loop that uses it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import aiohttp
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from connectors.line.settings import LineChannel, LineSettings

log = logging.getLogger(__name__)

#: Failures of a call to LINE that are logged and survived (never crash a delivery on them).
CALL_ERRORS: tuple[type[BaseException], ...] = (ApiException, aiohttp.ClientError, OSError, TimeoutError)

#: Messages LINE accepts in one reply, push or multicast call.
MESSAGES_PER_CALL = 5
#: Recipients LINE accepts in one multicast call.
MULTICAST_RECIPIENTS = 500
#: Seconds one API call may take before it is abandoned.
REQUEST_TIMEOUT = 10.0


class ReplyTokenExpired(Exception):
    """LINE refused the reply token (used already, or too old): the answer must be pushed."""


class PushAlreadyAccepted(Exception):
    """A push with the same retry key was accepted earlier (a retried delivery): nothing to do."""


def error_body(error: ApiException) -> str:
    """The body of an API error as text (LINE answers ``{"message": ..., "details": [...]}``)."""
    body: Any = getattr(error, "body", None)
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return str(body or "")


def is_expired_token(error: ApiException) -> bool:
    """Whether a reply failed because the reply token cannot be used any more."""
    return getattr(error, "status", None) == 400 and "invalid reply token" in error_body(error).lower()


class LineMessenger:
    """The Messaging API of one channel; use as ``async with LineMessenger(settings, channel) as line:``."""

    def __init__(self, settings: LineSettings, channel: LineChannel) -> None:
        self._configuration = Configuration(host=settings.api_base, access_token=channel.access_token)
        self._client: Any = None
        self._api: Any = None

    async def __aenter__(self) -> LineMessenger:
        self._client = AsyncApiClient(self._configuration)
        self._api = AsyncMessagingApi(self._client)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.close()
        self._client = self._api = None

    async def reply(self, reply_token: str, messages: Sequence[Any]) -> None:
        """Reply with at most 5 messages; raises :class:`ReplyTokenExpired` when the token is spent."""
        try:
            await self._api.reply_message(
                ReplyMessageRequest(reply_token=reply_token, messages=list(messages[:MESSAGES_PER_CALL])),
                _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as error:
            if is_expired_token(error):
                raise ReplyTokenExpired(reply_token) from error
            raise

    async def push(self, to: str, messages: Sequence[Any], retry_key: str | None = None) -> None:
        """Push at most 5 messages to a user, group or room (costs money: prefer :meth:`reply`).

        ``retry_key`` (a UUID) makes a retried push harmless: LINE answers 409 and sends nothing twice.
        """
        try:
            await self._api.push_message(
                PushMessageRequest(to=to, messages=list(messages[:MESSAGES_PER_CALL])),
                x_line_retry_key=retry_key, _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as error:
            if getattr(error, "status", None) == 409 and retry_key is not None:
                raise PushAlreadyAccepted(retry_key) from error
            raise

    async def multicast(self, to: Sequence[str], messages: Sequence[Any], retry_key: str) -> None:
        """Send at most 5 messages to at most 500 users in one call (costs one message per user).

        ``retry_key`` (a UUID) makes a retried call harmless: LINE answers 409 and sends nothing twice.
        """
        try:
            await self._api.multicast(
                MulticastRequest(to=list(to[:MULTICAST_RECIPIENTS]), messages=list(messages[:MESSAGES_PER_CALL])),
                x_line_retry_key=retry_key, _request_timeout=REQUEST_TIMEOUT,
            )
        except ApiException as error:
            if getattr(error, "status", None) == 409:
                raise PushAlreadyAccepted(retry_key) from error
            raise

    async def show_loading(self, chat_id: str, seconds: int) -> None:
        """Show the loading animation in a one-to-one chat (5–60 s, in steps of 5); failures only log."""
        seconds = max(5, min(60, 5 * -(-seconds // 5)))
        try:
            await self._api.show_loading_animation(
                ShowLoadingAnimationRequest(chat_id=chat_id, loading_seconds=seconds), _request_timeout=REQUEST_TIMEOUT
            )
        except CALL_ERRORS as error:
            log.warning("LINE loading animation failed: %s", getattr(error, "status", type(error).__name__))

    async def profile_language(self, user_id: str) -> str | None:
        """The language tag of the user's LINE app, or None (not consented, blocked, or an API error)."""
        try:
            profile = await self._api.get_profile(user_id, _request_timeout=REQUEST_TIMEOUT)
        except CALL_ERRORS as error:
            log.warning("LINE profile lookup failed: %s", getattr(error, "status", type(error).__name__))
            return None
        language = getattr(profile, "language", None)
        return str(language) if language else None
