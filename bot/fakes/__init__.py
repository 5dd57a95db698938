"""In-memory fakes of every interface the core is wired through, for tests without HTTP or a database.

=====================================================  =========================================
Interface                                              Fake
=====================================================  =========================================
``Store``, ``FollowerStore``, ``ResidentUpdates``      :class:`MemoryStore`
``TurnQueue``                                          :class:`MemoryTurnQueue` (over a MemoryStore)
``Understanding``                                      :class:`RuleNlu`
``KnowledgeBase``                                      :class:`MemoryKnowledge`
``TopicSearch``                                        :class:`FakeTopicSearch`
``StaffAuth``                                          :class:`MemoryAccounts`
``HandoffDesk``, ``HandoffRoom``, ``StaffDirectory``   :class:`MemoryStaffDesk`
``SecureFormService``                                  :class:`MemorySecureForms`
``SecureFormView``, ``SecureField``                    :class:`FakeSecureFormView`, :class:`FakeSecureField`
``SecretOpener``                                       :class:`MemoryVault`
``MessageHandler``                                     :class:`RecordingMessageHandler`
``Audience``                                           :class:`FakeAudience`
``Broadcasts``                                         :class:`MemoryBroadcasts`
``LiveUpdates``                                        :class:`RecordingLive`
``BulkSender``                                         :class:`RecordingBulkSender`
``ContactBook``                                        :class:`MemoryContactBook`
``AddressConfirmer``                                   :class:`RecordingConfirmer`
``bot.effects.EffectHandler``                          :class:`RecordingEffectHandler`
``bot.channels.Channel``                               :class:`RecordingChannel`
``bot.handlers.TurnHandler``                           :class:`RecordingTurnHandler`
=====================================================  =========================================

Every protocol has a fake (``tests/core/test_fakes.py`` checks it). The memory stores keep the SQL stores' guarantees
(exactly-once inbound messages, one lease per conversation, versioned state, effects claimed once);
:class:`MemoryEffectStore`, :class:`MemoryDeskStore` and :class:`MemorySecureFormStore` let the real
``EffectWorker``, ``StaffDesk`` and ``SecureForms`` run on a :class:`MemoryStore`.
:mod:`bot.testing` wires them into a whole engine and talks to it as a resident would.
"""

from bot.fakes.broadcasts import MemoryBroadcasts, RecordingBulkSender
from bot.fakes.contacts import MemoryContactBook, RecordingConfirmer
from bot.fakes.content import FakeTopicSearch, MemoryKnowledge, RuleNlu
from bot.fakes.desk import MemoryAccounts, MemoryDeskStore, MemorySecureForms, MemoryStaffDesk
from bot.fakes.live import RecordingLive
from bot.fakes.queues import MemoryEffectStore, MemorySecureFormStore, MemoryTurnQueue, MemoryVault
from bot.fakes.recorders import (
    FakeAudience,
    FakeSecureField,
    FakeSecureFormView,
    RecordingChannel,
    RecordingEffectHandler,
    RecordingMessageHandler,
    RecordingTurnHandler,
)
from bot.fakes.rows import Clock
from bot.fakes.store import MemoryStore

__all__ = [
    "Clock",
    "FakeAudience",
    "FakeSecureField",
    "FakeSecureFormView",
    "FakeTopicSearch",
    "MemoryAccounts",
    "MemoryBroadcasts",
    "MemoryContactBook",
    "MemoryDeskStore",
    "MemoryEffectStore",
    "MemoryKnowledge",
    "MemorySecureFormStore",
    "MemorySecureForms",
    "MemoryStaffDesk",
    "MemoryStore",
    "MemoryTurnQueue",
    "MemoryVault",
    "RecordingBulkSender",
    "RecordingChannel",
    "RecordingConfirmer",
    "RecordingEffectHandler",
    "RecordingLive",
    "RecordingMessageHandler",
    "RecordingTurnHandler",
    "RuleNlu",
]
