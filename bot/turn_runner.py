"""Answering every stored message exactly once, in order, whatever the servers and processes do.

A message is stored (``received``) before anything else; then :meth:`TurnRunner.process` answers
it. Turns of one conversation never run side by side: the process holding the conversation's
lease answers all its waiting messages oldest first, while a request whose message is answered
by another thread or server waits for that stored outcome. A lost state race re-runs the
(pure) turn; nothing of the losing attempt was stored, so no effect can be performed twice.
A message whose turn keeps failing, or that was left behind by a killed process, is answered by
the recovery :meth:`TurnRunner.sweep`, or marked failed with an apology in the resident's language.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from bot.protocols import Store, TurnQueue
from bot.records import CompletedTurn, DialogueState, OutboundDraft, PendingTurn, StateConflict, TurnOutcome
from bot.types import InboundMessage, Reply, TurnResult

log = logging.getLogger(__name__)

#: A state race lost this often in a row (the staff desk keeps changing the state) fails the message.
MAX_CONFLICTS = 8
#: A message whose turn was started this often without finishing (it crashed its process) fails.
MAX_ATTEMPTS = 3
#: Message metadata ``origin`` values whose replies nobody waits for on a connection.
DETACHED_ORIGINS = frozenset({"secure_form"})


@dataclass(frozen=True)
class RunnerSettings:
    """How long a lease lasts, how long a request waits for its answer, when the sweep steps in."""

    lease_seconds: float = 30.0
    wait_seconds: float = 120.0
    sweep_after_seconds: float = 30.0
    poll_seconds: float = 0.05


Decide = Callable[[InboundMessage, DialogueState, str], CompletedTurn]
Apology = Callable[[InboundMessage, str | None], OutboundDraft]


class TurnRunner:
    """Serializes and answers turns; the engine's :meth:`~bot.engine.DialogueEngine.process` calls it."""

    def __init__(self, store: Store, queue: TurnQueue, decide: Decide, apology: Apology,
                 *, settings: RunnerSettings | None = None, committed: Callable[[CompletedTurn], None] | None = None,
                 ) -> None:
        self._store = store
        self._queue = queue
        self._decide = decide
        self._apology = apology
        self._settings = settings or RunnerSettings()
        self._committed = committed or (lambda _turn: None)
        self._answered = threading.Condition()
        #: Conversations this process is answering now: its other requests wait instead of asking SQL for the lease.
        self._draining: set[str] = set()
        self._process = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def process(self, conversation_id: str, message_id: int, *, duplicate: bool = False) -> TurnResult:
        """The answer to stored message ``message_id``: computed here, or by whoever holds the lease."""
        deadline = time.monotonic() + self._settings.wait_seconds
        while True:
            if not duplicate and not self._is_draining(conversation_id):
                self.drain(conversation_id)
            outcome = self._queue.outcome(message_id)
            if outcome is None:
                raise LookupError(f"message {message_id} is not stored")
            if outcome.status != "received":
                return _result(conversation_id, outcome, duplicate=duplicate)
            if time.monotonic() >= deadline:
                log.warning("message %s still unanswered after %.0f s; the sweep will answer it",
                            message_id, self._settings.wait_seconds)
                return TurnResult(conversation_id, (), outcome.language or "", None, None, duplicate=duplicate)
            with self._answered:
                self._answered.wait(self._settings.poll_seconds)

    def drain(self, conversation_id: str, *, detached: bool = False) -> int:
        """Answer every waiting message of the conversation if its lease is free; returns how many."""
        owner = f"{self._process}-{uuid.uuid4().hex[:8]}"
        answered = 0
        with self._answered:
            if conversation_id in self._draining:
                return 0  # another thread of this process is answering it
            self._draining.add(conversation_id)
        try:
            answered = self._drain(conversation_id, owner, detached)
        finally:
            with self._answered:
                self._draining.discard(conversation_id)
                self._answered.notify_all()
        return answered

    def _is_draining(self, conversation_id: str) -> bool:
        with self._answered:
            return conversation_id in self._draining

    def _drain(self, conversation_id: str, owner: str, detached: bool) -> int:
        answered = 0
        while self._queue.acquire(conversation_id, owner, self._settings.lease_seconds):
            waiting = False
            try:
                while (pending := self._queue.begin_next(conversation_id)) is not None:
                    self._answer(conversation_id, pending, detached)
                    answered += 1
                    with self._answered:
                        self._answered.notify_all()
                    if not self._queue.acquire(conversation_id, owner, self._settings.lease_seconds):
                        return answered  # our lease expired and another process took over
            finally:
                waiting = self._queue.release(conversation_id, owner)
            if not waiting:  # else a message was stored just as we released: answer it too
                break
        return answered

    def sweep(self) -> int:
        """Answer messages left behind (a killed process, a request that gave up); returns how many."""
        answered = 0
        for conversation_id in self._queue.unanswered(timedelta(seconds=self._settings.sweep_after_seconds)):
            answered += self.drain(conversation_id, detached=True)
        if answered:
            log.info("recovery sweep answered %d message(s)", answered)
        return answered

    def _answer(self, conversation_id: str, pending: PendingTurn, detached: bool) -> None:
        message = pending.message
        detached = detached or message.metadata.get("origin") in DETACHED_ORIGINS
        if pending.attempts > MAX_ATTEMPTS:
            log.error("message %s crashed its turn %d times; failed", pending.message_id, pending.attempts - 1)
            self._fail(pending, "too_many_attempts", detached)
            return
        for _conflict in range(MAX_CONFLICTS):
            try:
                state = self._store.load_state(conversation_id)
                completed = self._decide(message, state, conversation_id)
            except Exception:
                # The resident's text is never logged at INFO or above; the id finds it in the store.
                log.exception("turn failed in conversation %s (message %s)", conversation_id, pending.message_id)
                self._fail(pending, "internal_error", detached)
                return
            completed = _with(completed, pending.message_id, detached)
            try:
                self._store.complete_turn(completed)
            except StateConflict:
                log.info("conversation %s changed during a turn; deciding again", conversation_id)
                continue
            self._committed(completed)
            return
        self._fail(pending, "state_conflict", detached)

    def _fail(self, pending: PendingTurn, reason: str, detached: bool) -> None:
        language = self._store.load_state(pending.conversation_id).language
        self._store.fail_turn(pending.message_id, reason, self._apology(pending.message, language), detached=detached)


def _with(turn: CompletedTurn, inbound_id: int, detached: bool) -> CompletedTurn:
    return replace(turn, inbound_id=inbound_id, detached=detached)


def _result(conversation_id: str, outcome: TurnOutcome, *, duplicate: bool) -> TurnResult:
    replies: tuple[Reply, ...] = outcome.replies
    return TurnResult(conversation_id, replies, outcome.language or "", outcome.topic, outcome.confidence,
                      duplicate=duplicate)
