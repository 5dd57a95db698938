"""Fakes of :class:`bot.protocols.ContactBook` (contacts in memory) and :class:`bot.protocols.AddressConfirmer`
(records the confirmations a route would send)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace

from bot.channels import TryLater
from bot.protocols import AddressConfirmer, ContactBook
from bot.types import BulkRefused, RouteContact


@dataclass
class MemoryContactBook(ContactBook):
    """Contacts by link token; :meth:`add` stores one (as ``bot.storage.contacts.ContactStore.subscribe`` does)."""

    contacts: dict[str, RouteContact] = field(default_factory=dict)

    def add(self, contact: RouteContact) -> RouteContact:
        """Store ``contact`` (replacing the resident's earlier one on the same route)."""
        for token, known in list(self.contacts.items()):
            if (known.conversation_id, known.route) == (contact.conversation_id, contact.route):
                del self.contacts[token]
        self.contacts[contact.token] = contact
        return contact

    def reachable(self, route: str, conversation_ids: Collection[str]) -> dict[str, RouteContact]:
        """The confirmed, subscribed contacts on ``route`` of these conversations."""
        return {contact.conversation_id: contact for contact in self.contacts.values()
                if contact.route == route and contact.conversation_id in conversation_ids and contact.reachable}

    def find(self, token: str) -> RouteContact | None:
        """The contact of ``token``, in any state."""
        return self.contacts.get(token)

    def confirm(self, token: str) -> RouteContact | None:
        """Confirmed (not after an unsubscribe)."""
        contact = self.contacts.get(token)
        if contact is None or contact.unsubscribed:
            return contact
        self.contacts[token] = replace(contact, confirmed=True)
        return self.contacts[token]

    def unsubscribe(self, token: str) -> RouteContact | None:
        """Unsubscribed, the address deleted."""
        contact = self.contacts.get(token)
        if contact is None:
            return None
        self.contacts[token] = replace(contact, unsubscribed=True, address="")
        return self.contacts[token]


@dataclass
class RecordingConfirmer(AddressConfirmer):
    """An :class:`bot.protocols.AddressConfirmer` of route ``name`` that records each confirmation it sends.

    ``errors`` makes the next calls fail: ``"later"`` raises ``TryLater``, ``"refuse"`` raises ``BulkRefused``.
    """

    name: str = "email"
    errors: list[str] = field(default_factory=list)
    sent: list[RouteContact] = field(default_factory=list)

    async def send_confirmation(self, contact: RouteContact) -> None:
        """Record ``contact``, or fail as ``errors`` says."""
        error = self.errors.pop(0) if self.errors else None
        if error == "later":
            raise TryLater("test route down")
        if error == "refuse":
            raise BulkRefused("test route refused the address")
        self.sent.append(contact)
