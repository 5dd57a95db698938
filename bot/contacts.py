"""E-mail notices with consent: the resident gives an address on a secure page, confirms it, and can stop it.

The flow, started by any button with the payload ``/email_notices`` (:func:`offer_email_notices` adds one):

1. the skill explains what happens and opens the form :data:`EMAIL_FORM`, whose two secret slots are asked
   on one secure page (``/secure/<token>``): the address (an e-mail input) and a consent checkbox that must
   be ticked. The address never enters the chat, the state or a log: the conversation gets ``sealed:<id>``;
2. the form's submit commits the effect ``contacts.subscribe``, which receives the values in clear, checks
   them, stores the address sealed (:class:`bot.storage.contacts.ContactStore`, unconfirmed) and sends the
   confirmation e-mail through the route's :class:`~bot.protocols.AddressConfirmer` (the e-mail channel);
   a route that is down makes the effect retry with backoff;
3. the resident opens the link in that e-mail (``/email/confirm/<token>``, served by the channel): from
   then on every notification to them also goes out by e-mail (``bot.notifications`` adds the route);
4. every e-mail carries an unsubscribe link (and RFC 8058 one-click headers); in the chat,
   ``/email_notices{"action": "stop"}`` (effect ``contacts.unsubscribe``) does the same. Either deletes the address.

Other skills offer e-mail notices with :func:`offer_email_notices` (or put :func:`email_notices_button` on
a reply of their own); the queue notices of a ward office do.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence

from bot.effects import Effect, EffectFailed, EffectHandler, EffectRequest
from bot.form_engine import Form, Slot, sealed_id, start_form
from bot.payloads import make_payload
from bot.privacy import mask_address
from bot.protocols import AddressConfirmer
from bot.secure_forms import CONSENTED
from bot.skill_registry import Skill
from bot.storage.contacts import ContactStore
from bot.turn import Turn
from bot.types import BulkRefused, Button, Reply

log = logging.getLogger(__name__)

#: The e-mail route (the e-mail channel's name).
EMAIL = "email"
#: The button intent that starts (or, with ``action: stop``, ends) e-mail notices.
EMAIL_NOTICES = "email_notices"
#: ``/email_notices{"action": "stop"}``: stop the e-mails and delete the address.
STOP = "stop"
SUBSCRIBE_EFFECT = "contacts.subscribe"
UNSUBSCRIBE_EFFECT = "contacts.unsubscribe"
#: The secret slots of the secure page: the address, and the consent checkbox (``bot.secure_forms.field_kind``).
ADDRESS_SLOT = "email"
CONSENT_SLOT = "email_consent"
#: RFC 5321's limit on the length of an address.
MAX_ADDRESS_CHARS = 254
#: A plain address: one @, no spaces or brackets, a dotted domain. Anything fancier is refused.
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")


class ContactRoutes:
    """The sealed contacts and the routes that can confirm a new address (registered by the app's channels)."""

    def __init__(self, store: ContactStore) -> None:
        self.store = store
        self._confirmers: dict[str, AddressConfirmer] = {}

    def register(self, confirmer: AddressConfirmer) -> None:
        """Let residents give addresses for ``confirmer.name`` (the e-mail channel registers itself)."""
        self._confirmers[confirmer.name] = confirmer

    def available(self, route: str) -> bool:
        """Whether this deployment sends on ``route``."""
        return route in self._confirmers

    def confirmer(self, route: str) -> AddressConfirmer | None:
        """What sends ``route``'s confirmation messages, or None."""
        return self._confirmers.get(route)


def normalized_address(value: str) -> str | None:
    """``value`` as an address to store (trimmed, the domain in lower case), or None when it is not one."""
    address = value.strip()
    if len(address) > MAX_ADDRESS_CHARS or not _ADDRESS.fullmatch(address) or ".." in address:
        return None
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


# --- the hook other skills use ----------------------------------------------------------


def email_enabled(turn: Turn) -> bool:
    """Whether the deployment's config leaves the e-mail channel on (``connectors.email.enabled``)."""
    return turn.services.config.connectors.get(EMAIL, {}).get("enabled", True) is not False


def email_notices_button(turn: Turn) -> Button:
    """The button that starts e-mail notices (in the turn's language)."""
    return turn.button("email.button", make_payload(EMAIL_NOTICES))


def offer_email_notices(turn: Turn) -> bool:
    """Offer the resident notices by e-mail as well (a short question with the button); False when e-mail
    is turned off in this deployment (nothing is said then)."""
    if not email_enabled(turn):
        return False
    turn.say("email.offer", buttons=[email_notices_button(turn)])
    return True


# --- the skill and its form -----------------------------------------------------------------


def _subscribe(turn: Turn, values: Mapping[str, str]) -> None:
    """The secure page was sent: the effect checks and stores the address and sends the confirmation."""
    turn.effects.append(Effect(SUBSCRIBE_EFFECT, {"route": EMAIL}, secret=sealed_id(values[ADDRESS_SLOT])))


#: The address and the consent, on one secure page.
EMAIL_FORM = Form(name=EMAIL_NOTICES, slots=(Slot(ADDRESS_SLOT, secret=True), Slot(CONSENT_SLOT, secret=True)),
                  submit=_subscribe)


def email_notices_skill(routes: ContactRoutes) -> Skill:
    """The skill of ``/email_notices``: the consent form, or (``action: stop``) stopping the e-mails."""

    def run(turn: Turn) -> None:
        if not routes.available(EMAIL):
            turn.say("email.unavailable")
            return
        if turn.entity("action") == STOP:
            turn.effects.append(Effect(UNSUBSCRIBE_EFFECT, {"route": EMAIL}))
            return
        turn.say("email.intro")
        start_form(turn, EMAIL_FORM)

    return Skill(name=EMAIL_NOTICES, topics=frozenset({EMAIL_NOTICES}), run=run, forms=(EMAIL_FORM,))


# --- the effects ------------------------------------------------------------------------------


class SubscribeEffect:
    """``contacts.subscribe``: store the sealed address (unconfirmed) and send the confirmation message."""

    kind = SUBSCRIBE_EFFECT

    def __init__(self, routes: ContactRoutes) -> None:
        self._routes = routes

    def perform(self, request: EffectRequest) -> Sequence[Reply]:
        """Check consent and address, store, send; a route that is down raises (the worker retries)."""
        route = str(request.params.get("route") or EMAIL)
        confirmer = self._routes.confirmer(route)
        if confirmer is None:
            raise EffectFailed("email.unavailable")
        if request.secrets.get(CONSENT_SLOT) != CONSENTED:
            raise EffectFailed("email.no_consent")
        address = normalized_address(request.secrets.get(ADDRESS_SLOT, ""))
        if address is None:
            raise EffectFailed("email.invalid_address")
        token = self._routes.store.link_token(request.idempotency_key)  # a retry sends the same link
        contact = self._routes.store.subscribe(request.bot, request.channel, request.sender, route, address,
                                               request.language, token)
        try:  # effects run in worker threads without an event loop; the confirmer is async (an SMTP session)
            asyncio.run(confirmer.send_confirmation(contact))
        except BulkRefused as refused:  # the server will never take it: forget it, the resident checks the address
            log.info("confirmation on %s refused for good: %s", route, refused.reason)
            self._routes.store.unsubscribe(contact.token)
            raise EffectFailed("email.undeliverable") from None
        log.info("confirmation sent on %s to %s", route, mask_address(address))
        stop = Button(request.text("email.stop_button"), make_payload(EMAIL_NOTICES, action=STOP))
        return (Reply(text=request.text("email.confirmation_sent"), buttons=(stop,)),)


class UnsubscribeEffect:
    """``contacts.unsubscribe``: the resident asked in the chat to stop the e-mails (the address is deleted)."""

    kind = UNSUBSCRIBE_EFFECT

    def __init__(self, routes: ContactRoutes) -> None:
        self._routes = routes

    def perform(self, request: EffectRequest) -> Sequence[Reply]:
        """Unsubscribe (nothing to do is fine too) and say so."""
        route = str(request.params.get("route") or EMAIL)
        self._routes.store.unsubscribe_resident(request.bot, request.channel, request.sender, route)
        return (Reply(text=request.text("email.stopped")),)


def contact_effects(routes: ContactRoutes) -> list[EffectHandler]:
    """The effect handlers of the consent flow."""
    return [SubscribeEffect(routes), UnsubscribeEffect(routes)]
