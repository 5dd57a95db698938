"""Performs committed effects once and brings their results back into the conversation.

Embedded by default: the server runs :meth:`EffectWorker.run_forever` in-process and wakes it
right after a turn with effects commits. A task engine can call :meth:`EffectWorker.run_once`
instead. A handler's exception means "try again" (exponential backoff); after ``max_attempts``,
or on :class:`~bot.effects.EffectFailed`, the resident gets an apology in their language.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from bot.effects import EffectFailed, EffectRegistry, EffectRequest
from bot.enums import EffectStatus
from bot.protocols import SecretOpener
from bot.storage.effects import ClaimedEffect, EffectStore
from bot.types import Reply
from translations.catalog import Catalog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerSettings:
    """Batch size, the lease on a claimed effect, retries and the idle poll."""

    batch: int = 20
    lease_seconds: float = 60.0
    max_attempts: int = 5
    max_backoff_seconds: float = 300.0
    poll_seconds: float = 1.0


class EffectWorker:
    """Claims due effects, performs them through their handlers and stores the follow-ups."""

    def __init__(self, store: EffectStore, registry: EffectRegistry, catalog: Callable[[], Catalog],
                 *, secrets: SecretOpener | None = None, settings: WorkerSettings | None = None) -> None:
        self._store = store
        self._registry = registry
        self._catalog = catalog
        self._secrets = secrets
        self._settings = settings or WorkerSettings()
        self._wake = threading.Event()

    def wake(self) -> None:
        """Look for work now (called after a turn with effects committed)."""
        self._wake.set()

    def run_once(self) -> int:
        """Perform every effect due now; returns how many finished."""
        finished = 0
        while claimed := self._store.claim_due(self._settings.batch, self._settings.lease_seconds):
            for effect in claimed:
                finished += self._perform(effect)
        return finished

    async def run_forever(self) -> None:
        """Run until cancelled: after every wake-up, or every ``poll_seconds`` (retries, other servers' work)."""
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database restarts, say: try again next round
                log.warning("effect round failed: %s", type(error).__name__)
            await asyncio.to_thread(self._wake.wait, self._settings.poll_seconds)
            self._wake.clear()

    def _perform(self, effect: ClaimedEffect) -> bool:
        catalog = self._catalog()
        handler = self._registry.get(effect.kind)
        if handler is None:
            log.error("effect %s has no handler for kind %s", effect.id, effect.kind)
            return self._give_up(effect, catalog, "unknown_kind", "error.apology")
        secrets: dict[str, str] = {}
        if effect.secret_id is not None:
            vault = self._secrets
            opened = vault.unseal(effect.secret_id, effect.conversation_id) if vault is not None else None
            if opened is None:  # expired before we got to it: the resident must enter it again
                return self._give_up(effect, catalog, "secret_expired", "error.apology")
            secrets = opened
        request = EffectRequest(
            kind=effect.kind, params=effect.params, idempotency_key=f"{effect.inbound_id}:{effect.position}",
            bot=effect.bot, channel=effect.channel, sender=effect.sender, language=effect.language,
            secrets=secrets, text=lambda key, **params: catalog.text(key, effect.language, **params),
        )
        try:
            replies = tuple(handler.perform(request))
        except EffectFailed as failure:
            log.info("effect %s (%s) refused: %s", effect.id, effect.kind, failure.key)
            return self._give_up(effect, catalog, "refused", failure.key, **failure.params)
        except Exception as error:
            if effect.attempts >= self._settings.max_attempts:
                log.error("effect %s (%s) failed %d times: %s", effect.id, effect.kind, effect.attempts,
                          type(error).__name__)
                return self._give_up(effect, catalog, type(error).__name__, "error.apology")
            delay = min(self._settings.max_backoff_seconds, 2.0 ** effect.attempts)
            log.warning("effect %s (%s) attempt %d failed (%s); again in %.0f s", effect.id, effect.kind,
                        effect.attempts, type(error).__name__, delay)
            self._store.retry_later(effect, type(error).__name__, delay)
            return False
        done = self._store.finish(effect, replies, EffectStatus.DONE)
        self._discard_secret(effect)
        return done

    def _give_up(self, effect: ClaimedEffect, catalog: Catalog, reason: str, key: str, **params: object) -> bool:
        apology = Reply(text=catalog.text(key, effect.language, **params))
        done = self._store.finish(effect, (apology,), EffectStatus.FAILED, reason)
        self._discard_secret(effect)
        return done

    def _discard_secret(self, effect: ClaimedEffect) -> None:
        if effect.secret_id is not None and self._secrets is not None:
            self._secrets.discard(effect.secret_id)
