"""One-time secure form links: look one up, or use it up, by its token.

A turn that needs secret slots stores a ``secret_requests`` row (``bot.storage.turns``) with only
the SHA-256 of the token; the token itself travels only in the link sent to the resident. Using a
link is one conditional UPDATE (``used_at IS NULL AND expires_at > now``), so exactly one request
succeeds even when two servers receive the same form at once, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import models
from bot.storage.turns import token_hash

#: Longer strings are not tokens (not even hashed).
MAX_TOKEN_CHARS = 256


@dataclass(frozen=True)
class SecureFormRequest:
    """An open secure form and the conversation it answers to."""

    conversation_id: str
    bot: str
    channel: str
    #: The resident's address on their channel (never logged).
    sender: str
    form: str
    slots: tuple[str, ...]
    language: str


class SecureFormStore:
    """Secure form links in the SQL store (``secret_requests``)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def peek(self, token: str) -> SecureFormRequest | None:
        """The form behind ``token`` while it is unused and unexpired, without using it; else None."""
        if not _plausible(token):
            return None
        now = datetime.now(UTC)
        with self._sessions() as session:
            return _load(session, token_hash(token), now)

    def redeem(self, token: str) -> SecureFormRequest | None:
        """Use ``token`` up: the form behind it exactly once (None when unknown, used or expired)."""
        if not _plausible(token):
            return None
        hashed, now = token_hash(token), datetime.now(UTC)
        with self._sessions.begin() as session:
            used = session.execute(
                update(models.SecretRequest)
                .where(models.SecretRequest.token_hash == hashed, models.SecretRequest.used_at.is_(None),
                       models.SecretRequest.expires_at > now)
                .values(used_at=now)
            )
            if used.rowcount != 1:  # type: ignore[attr-defined]
                return None
            return _load(session, hashed, None)

    def purge_expired(self) -> int:
        """Delete the links past their expiry (used or not); returns how many were deleted."""
        now = datetime.now(UTC)
        with self._sessions.begin() as session:
            result = session.execute(delete(models.SecretRequest).where(models.SecretRequest.expires_at <= now))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _plausible(token: str) -> bool:
    return 0 < len(token) <= MAX_TOKEN_CHARS


def _load(session: Session, hashed: str, usable_at: datetime | None) -> SecureFormRequest | None:
    """The request ``hashed`` with its conversation; with ``usable_at``, only an unused, unexpired one."""
    query = (
        select(models.SecretRequest, models.Conversation)
        .join(models.Conversation, models.Conversation.id == models.SecretRequest.conversation_id)
        .where(models.SecretRequest.token_hash == hashed)
    )
    if usable_at is not None:
        query = query.where(models.SecretRequest.used_at.is_(None), models.SecretRequest.expires_at > usable_at)
    row = session.execute(query).first()
    if row is None:
        return None
    request, conversation = row
    return SecureFormRequest(
        conversation_id=conversation.id, bot=conversation.bot, channel=conversation.channel,
        sender=conversation.sender, form=request.form, slots=tuple(str(slot) for slot in request.slots or ()),
        language=request.language,
    )
