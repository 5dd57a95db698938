"""Answering a client's message exactly once, however often the client sends it.

Browser clients (the widget, the kiosk) give each message a random id and resend it
after a dropped connection. The id becomes the message's ``external_id``, so the
engine stores and answers it once; a resend gets the stored answer back instead of
a second one.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.concurrency import run_in_threadpool

from bot.protocols import MessageHandler
from bot.types import InboundMessage, TranscriptEntry

#: Client message ids: a UUID or another random token (no spaces, no markup).
CLIENT_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
#: Sender ids the browser clients make: long random tokens (the id is the conversation's secret).
SENDER_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"
_SENDER = re.compile(SENDER_PATTERN)
#: Metadata keys stored with a browser client's message (shown again when the transcript is restored).
CLIENT_ID_KEY = "client_message_id"
TITLE_KEY = "button_title"
#: How long a resend waits for the first delivery of the same message to finish.
REPLAY_WAIT_SECONDS = 10.0
_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Delivery:
    """The answer to one client message (``duplicate``: a resend, answered from the store)."""

    replies: tuple[dict[str, Any], ...]
    language: str | None
    topic: str | None
    confidence: float | None
    duplicate: bool = False


def is_sender_id(value: str) -> bool:
    """Whether ``value`` looks like a sender id a browser client made (long and random)."""
    return bool(_SENDER.fullmatch(value))


def client_metadata(client_id: str | None, title: str | None) -> dict[str, Any]:
    """Metadata to store with a message: the client's id and the title of a pressed button."""
    metadata: dict[str, Any] = {}
    if client_id:
        metadata[CLIENT_ID_KEY] = client_id
    if title:
        metadata[TITLE_KEY] = title[:200]
    return metadata


async def deliver(
    handler: MessageHandler, message: InboundMessage, *, replay_wait: float = REPLAY_WAIT_SECONDS
) -> Delivery:
    """Store and answer ``message``; a resend (same ``external_id``) returns the stored answer."""
    record = await run_in_threadpool(handler.accept, message)
    if not getattr(record, "duplicate", False):
        result = await run_in_threadpool(handler.process, record, message)
        return Delivery(
            replies=tuple(reply.to_dict() for reply in result.replies),
            language=result.language,
            topic=result.topic,
            confidence=None if result.confidence is None else round(result.confidence, 4),
        )
    message_id = getattr(record, "message_id", None)
    deadline = time.monotonic() + replay_wait
    while True:
        entries = await run_in_threadpool(handler.transcript, message.bot, message.sender)
        status, replies, language = stored_answer(entries, message_id, message.channel)
        if status != "received" or time.monotonic() >= deadline:
            return Delivery(replies=replies, language=language or message.language, topic=None, confidence=None,
                            duplicate=True)
        await asyncio.sleep(_POLL_SECONDS)  # the first delivery is still being answered


def stored_answer(
    entries: Sequence[TranscriptEntry], message_id: int | None, channel: str
) -> tuple[str | None, tuple[dict[str, Any], ...], str | None]:
    """The status of inbound message ``message_id`` and the replies stored after it on ``channel``."""
    index = next((i for i, entry in enumerate(entries) if entry.id == message_id), None)
    if index is None:
        return None, (), None
    replies: list[dict[str, Any]] = []
    language: str | None = None
    for entry in entries[index + 1:]:
        if entry.channel != channel:
            continue
        if entry.direction == "in":
            break
        replies.append(dict(entry.payload))
        language = language or entry.language
    return entries[index].status, tuple(replies), language


#: Payload keys the staff desk keeps for itself (readers' translations, catalog references).
_INTERNAL_KEYS = frozenset({"translations", "params", "catalog_key", "source_text"})


def transcript_json(entries: Sequence[TranscriptEntry]) -> list[dict[str, Any]]:
    """Transcript entries as JSON; inbound ones carry the client's id and a pressed button's title."""
    messages = []
    for e in entries:
        reply = {k: v for k, v in e.payload.items() if k not in _INTERNAL_KEYS} if e.direction == "out" else None
        metadata = e.payload.get("metadata") if e.direction == "in" else None
        metadata = metadata if isinstance(metadata, dict) else {}
        messages.append({
            "id": e.id, "channel": e.channel, "direction": e.direction, "role": e.role,
            "text": e.text, "language": e.language, "topic": e.topic, "status": e.status,
            "created_at": e.created_at.isoformat(), "reply": reply,
            "client_id": metadata.get(CLIENT_ID_KEY), "title": metadata.get(TITLE_KEY),
        })
    return messages
