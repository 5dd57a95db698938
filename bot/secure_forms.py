"""Secure forms: how secret slots (a PIN, a password, a registration number) are collected.

A form whose next slots are secret does not ask for them in the chat: its turn opens a one-time
link (``/secure/<token>``, valid for minutes) to a page served by Yorisoi (``connectors.secure``).
What the resident types there is sealed at once (:class:`bot.secrets.SecretVault`) and the
conversation receives an inbound message ``/secret_submitted{"sealed": "<id>"}`` (metadata
``origin: secure_form``) that fills the secret slots with ``sealed:<id>``; the values themselves
are never in a message, the state or a log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.enums import FieldKind
from bot.payloads import make_payload
from bot.protocols import MessageHandler
from bot.secrets import SecretVault
from bot.storage.secure_forms import SecureFormRequest, SecureFormStore
from bot.types import InboundMessage
from translations.catalog import Catalog

log = logging.getLogger(__name__)

#: The intent of the message a submitted form sends to its conversation.
SUBMITTED_INTENT = "secret_submitted"
#: ``metadata["origin"]`` of that message.
ORIGIN = "secure_form"
#: Slots typed into masked inputs (besides any slot whose name ends in ``_pin`` or ``password``).
PASSWORD_SLOTS = frozenset({"pin", "password"})
#: Longer values are refused (no PIN, password or number is this long).
MAX_VALUE_CHARS = 256
#: The value of a ticked consent checkbox (:attr:`FieldKind.CONSENT`).
CONSENTED = "yes"
#: How long sealed values wait for their effect when nothing discards them first.
DEFAULT_SECRET_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class FormField:
    """One input of the page (``bot.protocols.SecureField``)."""

    name: str
    label: str
    password: bool
    kind: FieldKind = FieldKind.TEXT


@dataclass(frozen=True)
class FormView:
    """The page of a usable link (``bot.protocols.SecureFormView``)."""

    language: str
    fields: tuple[FormField, ...]


def is_password(slot: str) -> bool:
    """Whether ``slot`` is typed into a masked input."""
    return slot in PASSWORD_SLOTS or slot.endswith(("_pin", "password"))


def field_kind(slot: str) -> FieldKind:
    """The input of ``slot``, by its name: masked for PINs and passwords, an e-mail input for ``email`` and
    ``*_email``, a checkbox that must be ticked for ``consent`` and ``*_consent``, else text."""
    if is_password(slot):
        return FieldKind.PASSWORD
    if slot == "email" or slot.endswith("_email"):
        return FieldKind.EMAIL
    if slot == "consent" or slot.endswith("_consent"):
        return FieldKind.CONSENT
    return FieldKind.TEXT


class SecureForms:
    """The :class:`bot.protocols.SecureFormService`: describes and submits one-time secure forms."""

    def __init__(self, requests: SecureFormStore, vault: SecretVault, handler: MessageHandler,
                 catalog: Callable[[], Catalog], *, secret_ttl: timedelta = DEFAULT_SECRET_TTL) -> None:
        """``catalog`` gives the current catalog (a reload replaces it)."""
        self._requests = requests
        self._vault = vault
        self._handler = handler
        self._catalog = catalog
        self._secret_ttl = secret_ttl

    def describe(self, token: str) -> FormView | None:
        """The page for ``token`` (labels in the conversation's language); None when it cannot be used."""
        request = self._requests.peek(token)
        if request is None:
            return None
        return FormView(request.language, tuple(
            FormField(slot, self._label(slot, request.language), is_password(slot), field_kind(slot))
            for slot in request.slots
        ))

    def submit(self, token: str, values: Mapping[str, str]) -> bool:
        """Use ``token``, seal the form's ``values`` and answer the conversation's ``secret_submitted`` message.

        Returns False when the link is unknown, used or expired. Raises ValueError, before the
        link is used, when a field of the form is missing, empty or longer than
        :data:`MAX_VALUE_CHARS`; values of other names are ignored.
        """
        preview = self._requests.peek(token)
        if preview is None:
            return False
        clean = _checked_values(preview.slots, values)
        request = self._requests.redeem(token)
        if request is None:  # used by a concurrent request since the peek, or just expired
            return False
        sealed_id = self._vault.seal(request.conversation_id, clean, self._secret_ttl)
        message = _submitted_message(request, sealed_id)
        try:
            record = self._handler.accept(message)
        except Exception:
            self._vault.discard(sealed_id)
            raise
        log.debug("secure form %s submitted", request.form)
        try:
            self._handler.process(record, message)
        except Exception as error:
            # The message is stored: the recovery sweep answers it; the resident's submission counts.
            # Only the type at WARNING: the exception's text could quote the message (the sealed id).
            log.warning("the turn of a submitted secure form failed (%s); left for recovery", type(error).__name__)
            log.debug("secure form turn failure", exc_info=True)
        return True

    def purge_expired(self) -> int:
        """Delete expired links and sealed values nobody used; returns how many rows went."""
        return self._requests.purge_expired() + self._vault.purge_expired()

    def _label(self, slot: str, language: str) -> str:
        key = f"secure.field.{slot}"
        catalog = self._catalog()
        if catalog.has(key):
            return catalog.text(key, language)
        return slot.replace("_", " ").capitalize()


def _checked_values(slots: tuple[str, ...], values: Mapping[str, str]) -> dict[str, str]:
    """The values of ``slots`` (non-password ones trimmed); ValueError naming only the bad slots."""
    clean: dict[str, str] = {}
    bad: list[str] = []
    for slot in slots:
        raw = values.get(slot)
        value = "" if not isinstance(raw, str) else raw if is_password(slot) else raw.strip()
        if field_kind(slot) is FieldKind.CONSENT:  # ticked, or not given at all
            value = CONSENTED if value.lower() in ("yes", "on", "true") else ""
        if not value.strip() or len(value) > MAX_VALUE_CHARS:
            bad.append(slot)
        clean[slot] = value
    if bad:
        raise ValueError(f"empty or too long: {', '.join(bad)}")
    return clean


def _submitted_message(request: SecureFormRequest, sealed_id: str) -> InboundMessage:
    return InboundMessage(
        bot=request.bot, channel=request.channel, sender=request.sender,
        text=make_payload(SUBMITTED_INTENT, sealed=sealed_id), metadata={"origin": ORIGIN},
    )
