"""The outbox: messages written outside a turn (staff, interpreters, notices) sent by channels that push.

Channels of kind ``PLATFORM`` (LINE) receive them through ``Channel.send``; browsers (web widget,
kiosk) fetch their messages themselves. Every server runs an outbox. A push is claimed with a
conditional UPDATE (``pending``, or ``sending`` with an expired claim → ``sending`` until
``retry_at``), so one server pushes it at a time, and a server killed during a push leaves a claim
that expires: the message is claimed and pushed again under the same key (its id), which the
platform recognises (LINE's retry key), so the resident never gets it twice. A conversation's
messages leave in order: one waits while an earlier one of its conversation is backing off or
being pushed by another server.

A push the channel could not deliver now (:class:`~bot.channels.TryLater`: the platform is down,
slow or rate limiting) goes back to ``pending`` with exponential backoff; after ``max_attempts``,
or when the channel refuses it for good (``send`` returns False), it is ``failed`` with the reason
in ``error`` — the dead letter, listed by :meth:`Outbox.failed_pushes` and sent again by
:meth:`Outbox.requeue`. A task queue can later call :meth:`Outbox.run_once` instead of the loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.channels import Address, Channel, TryLater
from bot.enums import Direction, MessageStatus
from bot.protocols import Audience
from bot.storage import models
from bot.storage.messages import MessageLog
from bot.types import Reply

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
BATCH = 50


@dataclass(frozen=True)
class OutboxSettings:
    """Batch size, how long a claim holds, retries and the idle poll."""

    batch: int = BATCH
    #: A claim older than this is taken to be a crashed pusher's: the message is claimed again. Longer
    #: than one push may take (a channel's timeouts and rate-limit waits), else pushes overlap (harmless
    #: with the platform's retry key, but wasteful).
    claim_seconds: float = 60.0
    #: Attempts before a push is given up (``failed``).
    max_attempts: int = 8
    #: The backoff after attempt *n* is ``2 ** n`` seconds, at most this (a ``Retry-After`` wins).
    max_backoff_seconds: float = 300.0
    poll_seconds: float = POLL_SECONDS


@dataclass(frozen=True)
class FailedPush:
    """A push given up (the dead letter), as an admin sees it; the message text is not included."""

    message_id: int
    conversation_id: str
    bot: str
    channel: str
    role: str
    attempts: int
    error: str | None
    created_at: datetime


@dataclass(frozen=True)
class _Claim:
    """A message this outbox holds for one push attempt (``attempts`` is the attempt, the claim's token)."""

    message_id: int
    attempts: int
    bot: str
    sender: str
    payload: dict[str, object]
    language: str


@dataclass(frozen=True)
class _Candidate:
    """A message that looked due: its status and attempts are what the claim must still find."""

    message_id: int
    conversation_id: str
    status: MessageStatus
    attempts: int
    bot: str
    sender: str
    payload: dict[str, object]
    language: str


class Outbox:
    """Sends pending out-of-turn messages through the channels that push, retrying what failed for now."""

    def __init__(self, sessions: sessionmaker[Session], channels: Iterable[Channel],
                 audience: Audience | None = None, *, settings: OutboxSettings | None = None,
                 now: Callable[[], datetime] = models.utcnow) -> None:
        """``channels``: the ``PLATFORM`` channels; each sends the messages of its own conversations."""
        self._sessions = sessions
        self._channels = {channel.name: channel for channel in channels}
        self._audience = audience
        self._messages = MessageLog(sessions)
        self._settings = settings or OutboxSettings()
        self._now = now

    @property
    def settings(self) -> OutboxSettings:
        """Batch size, claim duration, retries."""
        return self._settings

    async def run_once(self) -> int:
        """Push what is due now; returns how many messages were sent."""
        sent = 0
        for name, channel in self._channels.items():
            held: set[str] = set()  # conversations whose earlier message is not out yet: the later ones wait
            for candidate in await run_in_threadpool(self._due, name):
                if candidate.conversation_id in held:
                    continue
                claim = await run_in_threadpool(self._claim, candidate)
                outcome = MessageStatus.PENDING if claim is None else await self._push(name, channel, claim)
                if outcome is MessageStatus.PENDING:
                    held.add(candidate.conversation_id)
                sent += outcome is MessageStatus.SENT
        return sent

    async def run_forever(self, interval: float | None = None) -> None:
        """Poll every ``interval`` (default ``poll_seconds``) seconds until cancelled (the app's lifespan)."""
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # e.g. the database restarts: try again next round
                log.warning("outbox round failed: %s", type(error).__name__)
            await asyncio.sleep(self._settings.poll_seconds if interval is None else interval)

    def failed_pushes(self, limit: int = 100, channel: str | None = None) -> list[FailedPush]:
        """Pushes given up, newest first (for an admin: ``error`` says why; :meth:`requeue` sends one again)."""
        query = (
            select(models.Message.id, models.Message.conversation_id, models.Conversation.bot,
                   models.Conversation.channel, models.Message.role, models.Message.attempts,
                   models.Message.error, models.Message.created_at)
            .join(models.Conversation, models.Conversation.id == models.Message.conversation_id)
            .where(models.Message.out_of_turn.is_(True), models.Message.direction == Direction.OUT,
                   models.Message.status == MessageStatus.FAILED)
            .order_by(models.Message.id.desc()).limit(limit)
        )
        if channel is not None:
            query = query.where(models.Conversation.channel == channel)
        else:
            query = query.where(models.Conversation.channel.in_(list(self._channels)))
        with self._sessions() as session:
            return [FailedPush(*row) for row in session.execute(query).all()]

    def requeue(self, message_id: int) -> bool:
        """Push a failed message again from its first attempt; False unless it is a failed push."""
        return self._messages.requeue_push(message_id)

    async def _push(self, name: str, channel: Channel, claim: _Claim) -> MessageStatus:
        """One attempt; returns the message's status after it: ``sent``, ``failed``, or ``pending`` (later)."""
        if claim.attempts > self._settings.max_attempts:  # only crashed pushers get here: give up
            log.error("push of message %s on %s abandoned after %d claims", claim.message_id, name,
                      claim.attempts - 1)
            await run_in_threadpool(self._fail, claim, f"gave up after {claim.attempts - 1} attempts")
            return MessageStatus.FAILED
        if self._audience is not None and not self._audience.is_active(claim.bot, name, claim.sender):
            await run_in_threadpool(self._fail, claim, "recipient inactive")
            return MessageStatus.FAILED
        try:
            address = Address(claim.bot, claim.sender, key=str(claim.message_id))
            delivered = await channel.send(address, Reply.from_dict(claim.payload), claim.language)
        except TryLater as later:
            return await run_in_threadpool(self._later, name, claim, later.reason, later.retry_after)
        except Exception as error:  # a bug or an unexpected failure: retried, then given up like the others
            log.error("push of message %s on %s failed: %s", claim.message_id, name, type(error).__name__)
            return await run_in_threadpool(self._later, name, claim, f"error: {type(error).__name__}", None)
        if not delivered:
            log.error("push of message %s was refused by %s", claim.message_id, name)
            await run_in_threadpool(self._fail, claim, f"refused by {name}")
            return MessageStatus.FAILED
        if not await run_in_threadpool(self._messages.finish_push, claim.message_id, claim.attempts,
                                       MessageStatus.SENT):
            log.info("push of message %s on %s was sent, but another outbox holds it now", claim.message_id, name)
        return MessageStatus.SENT

    def _due(self, channel: str) -> list[_Candidate]:
        """Messages of ``channel`` that are due: pending and not waiting, or sending with an expired claim.

        Not those behind an earlier message of their conversation that is waiting (backing off, or
        claimed by another server): they follow it.
        """
        now = self._now()
        unfinished = [MessageStatus.PENDING, MessageStatus.SENDING]
        due = or_(models.Message.retry_at.is_(None), models.Message.retry_at <= now)
        earlier = aliased(models.Message)
        behind_a_waiting_one = exists().where(
            earlier.conversation_id == models.Message.conversation_id, earlier.id < models.Message.id,
            earlier.out_of_turn.is_(True), earlier.status.in_(unfinished), earlier.retry_at > now,
        )
        with self._sessions() as session:
            rows = session.execute(
                select(models.Message.id, models.Message.conversation_id, models.Message.status,
                       models.Message.attempts, models.Conversation.bot, models.Conversation.sender,
                       models.Message.payload, models.Message.language)
                .join(models.Conversation, models.Conversation.id == models.Message.conversation_id)
                .where(models.Conversation.channel == channel, models.Message.out_of_turn.is_(True),
                       models.Message.status.in_(unfinished), due, ~behind_a_waiting_one)
                .order_by(models.Message.id).limit(self._settings.batch)
            ).all()
        return [_Candidate(message_id, conversation_id, MessageStatus(status), attempts or 0, bot, sender,
                           dict(payload or {}), language or "ja")
                for message_id, conversation_id, status, attempts, bot, sender, payload, language in rows]

    def _claim(self, candidate: _Candidate) -> _Claim | None:
        """Hold ``candidate`` for one attempt (``claim_seconds``), or None when another outbox was first."""
        now = self._now()
        until = now + timedelta(seconds=self._settings.claim_seconds)
        if not self._messages.claim_push(candidate.message_id, status=candidate.status, attempts=candidate.attempts,
                                         now=now, until=until):
            return None
        if candidate.status is MessageStatus.SENDING:
            log.warning("claim of message %s expired (a pusher stopped); pushing it again", candidate.message_id)
        return _Claim(candidate.message_id, candidate.attempts + 1, candidate.bot, candidate.sender,
                      candidate.payload, candidate.language)

    def _later(self, name: str, claim: _Claim, reason: str, retry_after: float | None) -> MessageStatus:
        """Back off (``2 ** attempts`` s, or the channel's ``retry_after``), or give up after ``max_attempts``."""
        if claim.attempts >= self._settings.max_attempts:
            log.error("push of message %s on %s failed %d times (%s): given up", claim.message_id, name,
                      claim.attempts, reason)
            self._fail(claim, reason)
            return MessageStatus.FAILED
        delay = min(self._settings.max_backoff_seconds, 2.0 ** claim.attempts)
        if retry_after is not None:
            delay = max(0.0, retry_after)
        log.warning("push of message %s on %s attempt %d failed (%s); again in %.1f s", claim.message_id, name,
                    claim.attempts, reason, delay)
        self._messages.retry_push(claim.message_id, claim.attempts, at=self._now() + timedelta(seconds=delay),
                                  error=reason)
        return MessageStatus.PENDING

    def _fail(self, claim: _Claim, reason: str) -> None:
        self._messages.finish_push(claim.message_id, claim.attempts, MessageStatus.FAILED, error=reason)
