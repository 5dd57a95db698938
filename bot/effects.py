"""Effects: what a turn asks the outside world to do, performed exactly once after the turn commits.

A skill never calls an integration itself. It appends an :class:`Effect` to the turn; the
effect is committed in the same transaction as the turn's state and replies, then a worker
performs it through the :class:`EffectHandler` registered for its ``kind``. A turn that
is retried (a state conflict) stores nothing of its discarded attempt, so nothing can be
performed twice. Each effect carries an idempotency key (inbound message id + position)
that handlers pass on to services that accept one (LINE's retry key, an ILS transaction id).
What the handler returns comes back to the resident as follow-up messages, in their language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol

from bot.types import Reply

if TYPE_CHECKING:
    from bot.plugins import PluginContext

#: The entry point group plugins register effect handlers in (callables taking the ``PluginContext``, returning
#: handlers).
EFFECT_ENTRY_POINTS = "yorisoi.effects"
#: JSON-compatible parameter values (an effect's parameters are stored as JSON).
ParamValue = str | int | float | bool | None


@dataclass(frozen=True)
class Effect:
    """A side effect to perform after commit: ``kind`` names a registered :class:`EffectHandler`.

    ``secret`` is the id of a sealed secret (see :mod:`bot.secrets`) the handler receives in
    clear; the parameters themselves must never contain one.
    """

    kind: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    secret: str | None = None


@dataclass(frozen=True)
class EffectRequest:
    """One effect as its handler receives it."""

    kind: str
    params: Mapping[str, ParamValue]
    #: ``<inbound message id>:<position>``: the same for every attempt at this effect.
    idempotency_key: str
    bot: str
    channel: str
    #: The resident's address on their channel (never logged).
    sender: str
    language: str
    #: The sealed values, unsealed for this call only (e.g. ``{"card": ..., "pin": ...}``).
    secrets: Mapping[str, str]
    #: Catalog text in the resident's language: ``text("key", **params)``.
    text: Callable[..., str]


class EffectFailed(Exception):
    """A handler's permanent failure: not retried; the resident gets ``key`` (a catalog key) instead."""

    def __init__(self, key: str = "effect.failed", **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class EffectHandler(Protocol):
    """Performs one kind of effect. Raising any other exception than :class:`EffectFailed` means
    "try again later" (with backoff, up to the configured attempts)."""

    kind: str

    def perform(self, request: EffectRequest) -> Sequence[Reply]:
        """Do it; return the follow-up replies for the resident (may be empty)."""
        ...


class EffectRegistry:
    """Effect handlers by kind."""

    def __init__(self, handlers: Sequence[EffectHandler] = ()) -> None:
        self._handlers: dict[str, EffectHandler] = {}
        for handler in handlers:
            self.register(handler)

    def register(self, handler: EffectHandler) -> None:
        """Add ``handler``; a kind can be registered once."""
        if handler.kind in self._handlers:
            raise ValueError(f"effect kind {handler.kind!r} is registered twice")
        self._handlers[handler.kind] = handler

    def get(self, kind: str) -> EffectHandler | None:
        """The handler of ``kind``, or None."""
        return self._handlers.get(kind)

    def kinds(self) -> tuple[str, ...]:
        """Registered kinds."""
        return tuple(self._handlers)


def plugin_effects(context: PluginContext) -> list[EffectHandler]:
    """Effect handlers that installed plugin packages register under :data:`EFFECT_ENTRY_POINTS` (each entry
    is called with the deployment's :class:`~bot.plugins.PluginContext`)."""
    found: list[EffectHandler] = []
    for entry in entry_points(group=EFFECT_ENTRY_POINTS):
        found.extend(entry.load()(context))
    return found


class NotifyEffect:
    """Built-in ``notify``: a message for the resident, performed after the turn like any effect.

    ``params``: ``{"key": <catalog key>}``, plus any ``{name}`` values the text takes. The reply is
    the catalog text in the resident's language (reminders and notices use it).
    """

    kind = "notify"

    def perform(self, request: EffectRequest) -> Sequence[Reply]:
        """One reply with the text of ``params["key"]``; an unknown key is refused (not retried)."""
        key = request.params.get("key")
        if not isinstance(key, str) or not key:
            raise EffectFailed("error.apology")
        values = {name: value for name, value in request.params.items() if name != "key"}
        try:
            return (Reply(text=request.text(key, **values)),)
        except KeyError:  # the catalog has no such key: retrying will not help
            raise EffectFailed("error.apology") from None


def builtin_effects() -> list[EffectHandler]:
    """The effect handlers every deployment has (registered after the plugins')."""
    return [NotifyEffect()]
