"""The ``contacts`` table: addresses residents gave, with their consent, to be reached on another route (e-mail).

- **Sealed.** The address is encrypted with the deployment's key (Fernet, the key of :mod:`bot.secrets`)
  together with the secret of the resident's links; the ``token`` column keeps only the SHA-256 of that
  secret. Neither an address nor a working link can be read from the database without the key.
- **One per conversation and route.** Giving an address again replaces it: a new consent, a new link
  secret, and unconfirmed until the resident opens the new confirmation link.
- **Unsubscribing deletes the address.** The row stays, with the moments of consent and of unsubscribing
  (the record that consent was given and withdrawn), so an old unsubscribe link still says "done".

Notifications find the reachable contacts in SQL (``bot.notifications.store``: confirmed and not
unsubscribed); the route's channel unseals their addresses through :meth:`ContactStore.reachable`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Collection
from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import models
from bot.types import RouteContact

log = logging.getLogger(__name__)

#: Version of the sealed plaintext's layout.
_FORMAT = 1
#: What the link secrets are derived for (an HMAC of the deployment key keyed by this purpose).
_TOKEN_PURPOSE = b"yorisoi contact link v1"


def token_hash(token: str) -> str:
    """What the ``token`` column keeps of a link secret (64 hex characters)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ContactStore:
    """Sealed contacts: subscribe, confirm, unsubscribe, and a batch's addresses (``bot.protocols.ContactBook``)."""

    def __init__(self, sessions: sessionmaker[Session], key: bytes | str,
                 now: Callable[[], datetime] | None = None) -> None:
        """``key``: the deployment's Fernet key (:func:`bot.secrets.load_key`)."""
        self._sessions = sessions
        self._fernet = Fernet(key)
        self._token_key = hmac.new(key if isinstance(key, bytes) else key.encode("ascii"), _TOKEN_PURPOSE,
                                   hashlib.sha256).digest()
        self._now = now or (lambda: datetime.now(UTC))

    def link_token(self, seed: str) -> str:
        """The link secret for ``seed`` (an effect's idempotency key): the same on every retry of that effect,
        unguessable without the deployment's key."""
        digest = hmac.new(self._token_key, seed.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def subscribe(self, bot: str, channel: str, sender: str, route: str, address: str, language: str,
                  token: str) -> RouteContact:
        """Store ``address`` on ``route`` for the resident, consented now and not yet confirmed.

        Replaces the resident's earlier address on that route. Storing the same address with the same
        token again (a retried effect) changes nothing but the moment of consent. Raises LookupError when
        the resident has no conversation with ``bot`` on ``channel``.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            conversation_id = session.scalar(select(models.Conversation.id).where(
                models.Conversation.bot == bot, models.Conversation.channel == channel,
                models.Conversation.sender == sender))
            if conversation_id is None:
                raise LookupError("no such conversation")
            row = session.scalar(select(models.Contact).where(models.Contact.conversation_id == conversation_id,
                                                              models.Contact.route == route))
            hashed = token_hash(token)
            sealed = self._seal(conversation_id, route, address, token)
            if row is None:
                row = models.Contact(conversation_id=conversation_id, route=route)
                session.add(row)
            if row.token != hashed:  # a new address (or the same one given again): confirmed anew
                row.confirmed_at = None
            row.address, row.language, row.token = sealed, language, hashed
            row.consented_at, row.unsubscribed_at = now, None
        return RouteContact(conversation_id, bot, route, address, language, token)

    def reachable(self, route: str, conversation_ids: Collection[str]) -> dict[str, RouteContact]:
        """The confirmed, subscribed contacts on ``route`` of these conversations (unreadable ones left out)."""
        if not conversation_ids:
            return {}
        with self._sessions() as session:
            rows = session.execute(
                select(models.Contact, models.Conversation.bot)
                .join(models.Conversation, models.Conversation.id == models.Contact.conversation_id)
                .where(models.Contact.route == route, models.Contact.conversation_id.in_(tuple(conversation_ids)),
                       models.Contact.confirmed_at.is_not(None), models.Contact.unsubscribed_at.is_(None))
            ).all()
        found: dict[str, RouteContact] = {}
        for row, bot in rows:
            contact = self._contact(row, bot)
            if contact is not None and contact.reachable:
                found[row.conversation_id] = contact
        return found

    def find(self, token: str) -> RouteContact | None:
        """The contact whose links carry ``token``, in any state; None for an unknown token."""
        with self._sessions() as session:
            found = self._by_token(session, token)
            return None if found is None else self._contact(*found, token=token)

    def confirm(self, token: str) -> RouteContact | None:
        """Mark the contact confirmed (once; not after an unsubscribe); None for an unknown token."""
        with self._sessions.begin() as session:
            found = self._by_token(session, token, lock=True)
            if found is None:
                return None
            row, bot = found
            if row.unsubscribed_at is None and row.confirmed_at is None:
                row.confirmed_at = self._clock()
            return self._contact(row, bot, token=token)

    def unsubscribe(self, token: str) -> RouteContact | None:
        """Stop the route for good and delete the address (a second time changes nothing); None when unknown."""
        with self._sessions.begin() as session:
            found = self._by_token(session, token, lock=True)
            if found is None:
                return None
            row, bot = found
            self._forget(row)
            return self._contact(row, bot, token=token)

    def unsubscribe_resident(self, bot: str, channel: str, sender: str, route: str) -> bool:
        """The resident asked in the chat to stop ``route``: as :meth:`unsubscribe`; False when they had none."""
        with self._sessions.begin() as session:
            row = session.scalar(
                select(models.Contact)
                .join(models.Conversation, models.Conversation.id == models.Contact.conversation_id)
                .where(models.Conversation.bot == bot, models.Conversation.channel == channel,
                       models.Conversation.sender == sender, models.Contact.route == route)
                .with_for_update())
            if row is None or row.unsubscribed_at is not None:
                return False
            self._forget(row)
            return True

    # --- sealing ----------------------------------------------------------------------------

    def _seal(self, conversation_id: str, route: str, address: str, token: str) -> str:
        plaintext = json.dumps({"v": _FORMAT, "conversation_id": conversation_id, "route": route,
                                "address": address, "token": token}, ensure_ascii=False)
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def _contact(self, row: models.Contact, bot: str, *, token: str | None = None) -> RouteContact | None:
        """The row in clear; None when its seal cannot be opened (another key) or belongs to another row."""
        unsubscribed = row.unsubscribed_at is not None
        address, sealed_token = "", token
        if row.address:
            try:
                data = json.loads(self._fernet.decrypt(row.address.encode("ascii")).decode("utf-8"))
            except (InvalidToken, ValueError):
                log.warning("a contact's address could not be decrypted (was the secret key changed?)")
                return None
            if data.get("conversation_id") != row.conversation_id or data.get("route") != row.route:
                log.warning("a sealed contact does not belong to its row; ignored")
                return None
            address, sealed_token = str(data.get("address", "")), str(data.get("token", ""))
        if sealed_token is None:
            return None
        return RouteContact(row.conversation_id, bot, row.route, address, row.language or "", sealed_token,
                            confirmed=row.confirmed_at is not None, unsubscribed=unsubscribed)

    def _forget(self, row: models.Contact) -> None:
        if row.unsubscribed_at is None:
            row.unsubscribed_at = self._clock()
        row.address = ""  # the address goes with the consent; the row keeps when it was given and withdrawn

    @staticmethod
    def _by_token(session: Session, token: str, *, lock: bool = False) -> tuple[models.Contact, str] | None:
        query = (select(models.Contact, models.Conversation.bot)
                 .join(models.Conversation, models.Conversation.id == models.Contact.conversation_id)
                 .where(models.Contact.token == token_hash(token)))
        if lock:
            query = query.with_for_update(of=models.Contact)
        found = session.execute(query).first()
        return None if found is None else (found[0], found[1])

    def _clock(self) -> datetime:
        moment = self._now()
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
