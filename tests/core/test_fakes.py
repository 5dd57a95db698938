"""``bot.fakes`` has a fake of every interface, and its memory stores keep the SQL stores' guarantees.

The conformance test finds the protocols itself: a protocol added to ``bot.protocols`` without a
fake fails here. The behaviour tests run the same steps on the memory store and on the SQL store
(SQLite), so the fakes cannot drift from what they stand in for.
"""

from __future__ import annotations

import inspect
import threading
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import bot.fakes
import bot.protocols
from bot.channels import Channel
from bot.desk.accounts import Accounts
from bot.desk.store import DeskStore
from bot.effects import Effect, EffectHandler
from bot.enums import EffectStatus, MessageStatus
from bot.fakes import (
    MemoryAccounts,
    MemoryDeskStore,
    MemoryEffectStore,
    MemorySecureFormStore,
    MemoryStore,
    MemoryTurnQueue,
    MemoryVault,
)
from bot.handlers import TurnHandler
from bot.protocols import FollowerStore, Store, TurnQueue
from bot.records import CompletedTurn, DialogueState, OutboundDraft, StateConflict
from bot.secrets import SecretVault
from bot.storage.database import create_database_engine, session_factory, upgrade_database
from bot.storage.effects import EffectStore
from bot.storage.secure_forms import SecureFormStore
from bot.storage.store import SqlStore
from bot.storage.turns import TurnQueueStore
from bot.testing import conversation_engine
from bot.types import InboundMessage, Location, Reply

# --- every protocol has a fake ----------------------------------------------------------------


def is_protocol(cls: type) -> bool:
    return bool(cls.__dict__.get("_is_protocol", False))


def protocols() -> list[type]:
    """Every Protocol class of ``bot.protocols``, and the plugin interfaces EffectHandler, Channel, TurnHandler."""
    found = [cls for _name, cls in inspect.getmembers(bot.protocols, inspect.isclass)
             if cls.__module__ == "bot.protocols" and is_protocol(cls)]
    return [*found, EffectHandler, Channel, TurnHandler]


def members(protocol: type) -> dict[str, Any]:
    """The protocol's public members (its own and inherited): methods, properties and attributes."""
    found: dict[str, Any] = {}
    for base in reversed(protocol.__mro__):
        if base in (object, typing.Protocol, typing.Generic) or not is_protocol(base):
            continue
        for name in (*inspect.get_annotations(base), *vars(base)):
            if not name.startswith("_"):
                found[name] = inspect.getattr_static(base, name, None)
    return found


def fakes() -> list[type]:
    return [cls for _name, cls in inspect.getmembers(bot.fakes, inspect.isclass)
            if cls.__module__.startswith("bot.fakes") and not is_protocol(cls)]


def parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def mismatches(fake: type, protocol: type) -> list[str]:
    """What keeps ``fake`` from implementing ``protocol`` ([] when it does)."""
    problems = []
    fields = getattr(fake, "__dataclass_fields__", {})
    annotated = {name for cls in fake.__mro__ if not is_protocol(cls) for name in inspect.get_annotations(cls)}
    for name, expected in members(protocol).items():
        owner = next((cls for cls in fake.__mro__ if name in vars(cls)), None)
        if callable(expected) or isinstance(expected, classmethod | staticmethod):
            if owner is None or is_protocol(owner):
                problems.append(f"{name}() is missing")
                continue
            wanted, actual = getattr(protocol, name), getattr(fake, name)
            if not callable(actual):
                problems.append(f"{name} is not a method")
                continue
            if parameters(actual) != parameters(wanted):
                problems.append(f"{name}{parameters(actual)} != {name}{parameters(wanted)}")
            if inspect.iscoroutinefunction(actual) != inspect.iscoroutinefunction(wanted):
                problems.append(f"{name}() must {'' if inspect.iscoroutinefunction(wanted) else 'not '}be async")
        elif not (name in fields or name in annotated or (owner is not None and not is_protocol(owner))):
            problems.append(f"attribute {name} is missing")
    return problems


@pytest.mark.parametrize("protocol", protocols(), ids=lambda p: p.__name__)
def test_bot_fakes_implements_every_protocol(protocol: type) -> None:
    candidates = {fake.__name__: mismatches(fake, protocol) for fake in fakes()}
    implementations = [name for name, problems in candidates.items() if not problems]
    nearest = min(candidates.items(), key=lambda item: len(item[1]))
    assert implementations, f"no fake of {protocol.__name__} in bot.fakes; nearest: {nearest}"


@pytest.mark.parametrize(("fake", "real"), [
    (MemoryDeskStore, DeskStore), (MemoryAccounts, Accounts), (MemoryEffectStore, EffectStore),
    (MemorySecureFormStore, SecureFormStore), (MemoryVault, SecretVault),
], ids=lambda cls: cls.__name__)
def test_memory_subclasses_of_sql_classes_override_every_public_method(fake: type, real: type) -> None:
    public = [name for name, value in vars(real).items() if callable(value) and not name.startswith("_")]
    assert [name for name in public if name not in vars(fake)] == []  # else the SQL method would run
    assert all(parameters(getattr(fake, name)) == parameters(getattr(real, name)) for name in public)


# --- the memory store keeps the SQL store's guarantees -------------------------------------------


@dataclass
class Stores:
    store: Store
    followers: FollowerStore
    queue: TurnQueue
    effects: EffectStore


@pytest.fixture(params=["memory", "sqlite"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "memory":
        memory = MemoryStore()
        yield Stores(memory, memory, MemoryTurnQueue(memory), MemoryEffectStore(memory))
        return
    database = create_database_engine(f"sqlite:///{tmp_path / 'fakes.db'}")
    upgrade_database(database)
    sessions = session_factory(database)
    sql = SqlStore(sessions)
    yield Stores(sql, sql, TurnQueueStore(sessions), EffectStore(sessions))
    database.dispose()


def inbound(text: str = "hello", *, sender: str = "resident-1", external_id: str | None = None,
            **extra: Any) -> InboundMessage:
    return InboundMessage(bot="city_hall", channel="test", sender=sender, text=text, language="en",
                          external_id=external_id, **extra)


def turn(conversation_id: str, message_id: int, state: DialogueState, *replies: str,
         effects: tuple[Effect, ...] = ()) -> CompletedTurn:
    return CompletedTurn(conversation_id=conversation_id, inbound_id=message_id, state=state,
                         outbound=tuple(OutboundDraft(Reply(text=text), "en") for text in replies), language="en",
                         topic="greet", confidence=0.9, effects=effects)


def test_a_known_external_id_is_a_duplicate_of_the_stored_message(stores: Stores) -> None:
    first = stores.store.record_inbound(inbound(external_id="evt-1"))
    again = stores.store.record_inbound(inbound("hello again", external_id="evt-1"))
    elsewhere = stores.store.record_inbound(inbound(sender="resident-2", external_id="evt-1"))
    assert not first.duplicate and again.duplicate and not elsewhere.duplicate
    assert (again.conversation_id, again.message_id) == (first.conversation_id, first.message_id)
    assert [entry.text for entry in stores.store.transcript("city_hall", "resident-1")] == ["hello"]


def test_a_turn_decided_on_an_old_state_raises_a_conflict_and_stores_nothing(stores: Stores) -> None:
    one = stores.store.record_inbound(inbound("one"))
    two = stores.store.record_inbound(inbound("two"))
    first, second = stores.store.load_state(one.conversation_id), stores.store.load_state(one.conversation_id)
    stores.store.complete_turn(turn(one.conversation_id, one.message_id, first, "answer one"))
    with pytest.raises(StateConflict):
        stores.store.complete_turn(turn(two.conversation_id, two.message_id, second, "lost answer",
                                        effects=(Effect("renew"),)))
    assert stores.store.load_state(one.conversation_id).version == 1
    assert stores.queue.outcome(two.message_id).status == MessageStatus.RECEIVED  # type: ignore[union-attr]
    assert "lost answer" not in [entry.text for entry in stores.store.transcript("city_hall", "resident-1")]
    assert stores.effects.claim_due(10, 60) == []
    retried = stores.store.load_state(two.conversation_id)
    stores.store.complete_turn(turn(two.conversation_id, two.message_id, retried, "answer two"))
    assert stores.store.load_state(two.conversation_id).version == 2


def test_replies_are_linked_to_their_inbound_message(stores: Stores) -> None:
    one = stores.store.record_inbound(inbound("one"))
    two = stores.store.record_inbound(inbound("two"))
    stores.store.complete_turn(turn(one.conversation_id, one.message_id, DialogueState(), "a", "b"))
    outcome = stores.queue.outcome(one.message_id)
    assert outcome is not None and outcome.status == MessageStatus.PROCESSED
    assert [reply.text for reply in outcome.replies] == ["a", "b"] and outcome.language == "en"
    assert stores.queue.outcome(two.message_id).replies == ()  # type: ignore[union-attr]
    assert stores.queue.outcome(999_999) is None


def test_one_lease_per_conversation_and_the_oldest_message_first(stores: Stores) -> None:
    place = Location(35.0, 139.0, "Kita")
    first = stores.store.record_inbound(inbound("one", metadata={"origin": "kiosk"}, location=place))
    stores.store.record_inbound(inbound("two"))
    conversation = first.conversation_id
    assert stores.queue.acquire(conversation, "server-a", 30) and stores.queue.acquire(conversation, "server-a", 30)
    assert not stores.queue.acquire(conversation, "server-b", 30)
    assert stores.queue.release(conversation, "server-b")  # not the owner: nothing changes; messages wait
    assert not stores.queue.acquire(conversation, "server-b", 30)
    pending = stores.queue.begin_next(conversation)
    assert pending is not None and (pending.message_id, pending.attempts) == (first.message_id, 1)
    assert pending.message.metadata == {"origin": "kiosk"} and pending.message.location == place
    assert stores.queue.begin_next(conversation).attempts == 2  # type: ignore[union-attr]  # not answered yet
    assert stores.queue.release(conversation, "server-a")
    assert stores.queue.acquire(conversation, "server-b", 30)
    assert not stores.queue.acquire("no-such-conversation", "server-b", 30)


def test_a_failed_message_is_answered_once(stores: Stores) -> None:
    one = stores.store.record_inbound(inbound("one"))
    two = stores.store.record_inbound(inbound("two"))
    stores.store.complete_turn(turn(one.conversation_id, one.message_id, DialogueState(), "answer"))
    apology = OutboundDraft(Reply(text="sorry"), "en")
    stores.store.fail_turn(one.message_id, "late", apology)  # answered already: ignored
    stores.store.fail_turn(two.message_id, "internal_error", apology)
    stores.store.fail_turn(two.message_id, "internal_error", apology)
    statuses = [(entry.text, entry.status) for entry in stores.store.transcript("city_hall", "resident-1")]
    assert statuses == [("one", "processed"), ("two", "failed"), ("answer", "pending"), ("sorry", "pending")]


def test_effects_are_claimed_once_and_their_results_come_back_once(stores: Stores) -> None:
    one = stores.store.record_inbound(inbound("renew"))
    stores.store.complete_turn(turn(one.conversation_id, one.message_id, DialogueState(), "ok",
                                    effects=(Effect("renew", {"item": "book-42"}), Effect("notify"))))
    claimed = stores.effects.claim_due(10, 60)
    assert [(e.kind, e.position, e.attempts, e.params) for e in claimed] == [
        ("renew", 0, 1, {"item": "book-42"}), ("notify", 1, 1, {})]
    assert stores.effects.claim_due(10, 60) == []  # held by the first worker
    assert stores.effects.finish(claimed[0], (Reply(text="renewed"),), EffectStatus.DONE)
    assert not stores.effects.finish(claimed[0], (Reply(text="renewed"),), EffectStatus.DONE)
    stores.effects.retry_later(claimed[1], "ConnectionError", 3600)
    assert stores.effects.claim_due(10, 60) == []  # not due for an hour
    updates = stores.followers.updates("city_hall", "test", "resident-1", 0)
    assert [(u.text, u.status) for u in updates] == [("renewed", "sent")]
    assert stores.followers.updates("city_hall", "test", "resident-1", updates[-1].id) == []


def test_follow_state_of_residents(stores: Stores) -> None:
    assert stores.followers.is_active("city_hall", "test", "stranger")  # unknown residents are active
    stores.followers.set_active("city_hall", "test", "resident-1", False)
    assert not stores.followers.is_active("city_hall", "test", "resident-1")
    stores.followers.set_active("city_hall", "test", "resident-1", True)
    assert stores.followers.is_active("city_hall", "test", "resident-1")


def test_threads_sharing_the_memory_store_answer_every_message_once_in_order() -> None:
    engine = conversation_engine()
    talk = engine.conversation("city_hall", language="en")
    texts = [f"hello {thread}-{n}" for thread in range(4) for n in range(5)]

    def send(batch: list[str]) -> None:
        for text in batch:
            engine.handle(inbound(text, sender=talk.sender))

    threads = [threading.Thread(target=send, args=(texts[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    inbound_rows = [m for m in engine.store.messages.values() if m.direction == "in"]
    assert len(inbound_rows) == 20 and all(m.status == "processed" for m in inbound_rows)
    replies = [m.reply_to for m in engine.store.messages.values() if m.direction == "out" and m.reply_to is not None]
    assert sorted(replies) == sorted(m.id for m in inbound_rows)  # one reply each
    assert replies == sorted(replies)  # answered oldest first
    assert engine.store.load_state(inbound_rows[0].conversation_id).version == 20


def test_the_memory_vault_opens_a_secret_only_in_its_conversation_until_it_expires() -> None:
    clock = bot.fakes.Clock()
    vault = MemoryVault(MemoryStore(now=clock))
    sealed = vault.seal("conversation-1", {"pin": "8642"}, timedelta(minutes=10))
    assert vault.unseal(sealed) == vault.unseal(sealed, "conversation-1") == {"pin": "8642"}
    assert vault.unseal(sealed, "conversation-2") is None  # a forged id from another conversation
    clock.advance(minutes=11)
    assert vault.unseal(sealed) is None and vault.purge_expired() == 1
