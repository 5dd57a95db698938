"""Recording doubles: effect handlers, channels, handler-chain links and a stand-in for the engine.

Each records what it was given (``requests``, ``sent``, ``pushed``, ``handled``, ``messages``) so
a test asserts on it, and answers in a simple, configurable way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from fastapi import APIRouter

from bot.channels import Address, Channel, ChannelContext, ChannelKind
from bot.effects import EffectFailed, EffectHandler, EffectRequest
from bot.enums import Direction, FieldKind, MessageStatus, Role
from bot.handlers import TurnHandler
from bot.protocols import Audience, MessageHandler
from bot.records import InboundRecord
from bot.turn import Turn
from bot.types import InboundMessage, Reply, TranscriptEntry, TurnResult


@dataclass
class RecordingEffectHandler(EffectHandler):
    """Performs ``kind`` by recording the request.

    It raises ``ConnectionError`` ("try again later") for the first ``failures`` calls, refuses
    with :class:`~bot.effects.EffectFailed` (catalog key ``refuse_key``) when that is set, and
    otherwise answers ``answer(request)``, or one reply with catalog text ``reply_key``, or nothing.
    """

    kind: str = "test_effect"
    reply_key: str | None = None
    answer: Callable[[EffectRequest], Sequence[Reply]] | None = None
    failures: int = 0
    refuse_key: str | None = None
    requests: list[EffectRequest] = field(default_factory=list)

    @property
    def calls(self) -> list[str]:
        """The idempotency keys of every call, in order (a retried effect repeats its key)."""
        return [request.idempotency_key for request in self.requests]

    def perform(self, request: EffectRequest) -> Sequence[Reply]:
        """Record ``request``; fail, refuse or answer as configured."""
        self.requests.append(request)
        if self.refuse_key is not None:
            raise EffectFailed(self.refuse_key)
        if len(self.requests) <= self.failures:
            raise ConnectionError("the integration is down")
        if self.answer is not None:
            return tuple(self.answer(request))
        return (Reply(text=request.text(self.reply_key)),) if self.reply_key else ()


class RecordingChannel(Channel):
    """A ``PLATFORM`` test channel named ``test``: :meth:`send` records what the core pushed to residents.

    Its router has no routes: conversations reach the engine through :class:`bot.testing.Conversation`.
    """

    name: ClassVar[str] = "test"
    kind: ClassVar[ChannelKind] = ChannelKind.PLATFORM

    def __init__(self, *, delivers: bool = True, section: Mapping[str, Any] | None = None,
                 context: ChannelContext | None = None) -> None:
        """``delivers``: what :meth:`send` answers (False: as if the platform refused the message)."""
        self.delivers = delivers
        self.section = dict(section or {})
        self.context = context
        self.sent: list[tuple[Address, Reply, str]] = []

    @classmethod
    def from_config(cls, section: Mapping[str, Any], context: ChannelContext) -> RecordingChannel:
        """Any section is accepted and kept (``.section``)."""
        return cls(section=section, context=context)

    def router(self) -> APIRouter:
        """No routes."""
        return APIRouter()

    async def send(self, address: Address, reply: Reply, language: str) -> bool:
        """Record the message; a second send with the same ``address.key`` is a no-op (True)."""
        if any(sent.key == address.key for sent, _reply, _language in self.sent):
            return True
        if self.delivers:
            self.sent.append((address, reply, language))
        return self.delivers

    @property
    def texts(self) -> list[str]:
        """The texts sent, in order."""
        return [reply.text for _address, reply, _language in self.sent]


@dataclass
class RecordingTurnHandler(TurnHandler):
    """A link of the handler chain: takes the turns of ``topics`` (None: every turn), says ``reply_key``."""

    name: str = "recording"
    topics: frozenset[str] | None = None
    reply_key: str | None = None
    handled: list[Turn] = field(default_factory=list)

    def handles(self, turn: Turn) -> bool:
        """Whether the turn's topic is one of ``topics``."""
        return self.topics is None or turn.topic in self.topics

    def handle(self, turn: Turn) -> None:
        """Record the turn and add the reply."""
        self.handled.append(turn)
        if self.reply_key is not None:
            turn.say(self.reply_key)


@dataclass
class RecordingMessageHandler(MessageHandler):
    """Stands in for the engine in channel tests: records messages, answers each with ``replies``.

    A redelivered ``external_id`` is a duplicate (``TurnResult.duplicate``), a follow returns
    ``greeting``; ``events`` records lifecycle calls as (bot, channel, sender, event, language).
    """

    replies: tuple[Reply, ...] = (Reply(text="ok"),)
    greeting: tuple[Reply, ...] = (Reply(text="welcome"),)
    language: str = "ja"
    messages: list[InboundMessage] = field(default_factory=list)
    events: list[tuple[str, str, str, str, str | None]] = field(default_factory=list)
    entries: list[tuple[str, str, TranscriptEntry]] = field(default_factory=list)

    def handle(self, message: InboundMessage) -> TurnResult:
        """Accept and answer ``message``."""
        return self.process(self.accept(message), message)

    def transcript(self, bot: str, sender: str) -> list[TranscriptEntry]:
        """The messages and replies recorded for ``sender`` with ``bot``."""
        return [entry for entry_bot, entry_sender, entry in self.entries if (entry_bot, entry_sender) == (bot, sender)]

    def accept(self, message: InboundMessage) -> InboundRecord:
        """Record ``message``; a known ``external_id`` of the same resident is a duplicate."""
        conversation = f"{message.bot}:{message.channel}:{message.sender}"
        for index, seen in enumerate(self.messages):
            if message.external_id is not None and (seen.bot, seen.channel, seen.sender, seen.external_id) \
                    == (message.bot, message.channel, message.sender, message.external_id):
                return InboundRecord(conversation, index + 1, duplicate=True)
        self.messages.append(message)
        self._log(message.bot, message.sender, message.channel, Direction.IN, Role.RESIDENT, message.text)
        return InboundRecord(conversation, len(self.messages))

    def process(self, record: Any, message: InboundMessage) -> TurnResult:
        """The configured replies (recorded once, not again for a duplicate)."""
        if not record.duplicate:
            for reply in self.replies:
                self._log(message.bot, message.sender, message.channel, Direction.OUT, Role.BOT, reply.text)
        return TurnResult(record.conversation_id, self.replies, self.language, None, None, duplicate=record.duplicate)

    def lifecycle(self, bot: str, channel: str, sender: str, event: str, language: str | None) -> tuple[Reply, ...]:
        """Record the event; a follow returns ``greeting``."""
        self.events.append((bot, channel, sender, str(event), language))
        return self.greeting if str(event) == "follow" else ()

    def _log(self, bot: str, sender: str, channel: str, direction: Direction, role: Role, text: str) -> None:
        entry = TranscriptEntry(id=len(self.entries) + 1, channel=channel, direction=direction, role=role, text=text,
                                language=self.language, topic=None, status=MessageStatus.PROCESSED,
                                created_at=datetime.now(UTC), payload={"text": text})
        self.entries.append((bot, sender, entry))


@dataclass
class FakeAudience(Audience):
    """Whether residents follow: everyone does except the (bot, channel, sender) in ``gone``."""

    gone: set[tuple[str, str, str]] = field(default_factory=set)

    def is_active(self, bot: str, channel: str, sender: str) -> bool:
        """False for an unfollowed resident."""
        return (bot, channel, sender) not in self.gone


@dataclass(frozen=True)
class FakeSecureField:
    """A :class:`~bot.protocols.SecureField`: one input of a secure form page."""

    name: str
    label: str
    password: bool = False
    kind: FieldKind = FieldKind.TEXT


@dataclass(frozen=True)
class FakeSecureFormView:
    """A :class:`~bot.protocols.SecureFormView`: the page of a usable link."""

    language: str
    fields: tuple[FakeSecureField, ...] = ()
