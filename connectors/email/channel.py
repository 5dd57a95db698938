"""The ``email`` channel: notices by e-mail to residents who gave an address with their consent.

A ``ROUTE`` channel (``bot.channels.ChannelKind``): it has no conversations of its own. Residents of any
channel give an address on a secure page in their conversation (``/email_notices``: ``bot.contacts``),
and this channel sends them:

- the **confirmation** e-mail (:meth:`EmailChannel.send_confirmation`, ``bot.protocols.AddressConfirmer``):
  nothing else is sent before the resident opened its link;
- **notices** (:meth:`EmailChannel.send_many`, ``bot.protocols.BulkSender`` for the route ``email``): every
  notification to a resident with a confirmed address also goes out by e-mail, one message per resident
  (each with their own unsubscribe link), ``max_recipients`` per batch over one SMTP connection, at most
  ``rate_per_second`` e-mails per second across all processes (``limits``, in Redis when configured);
- the **pages** of the links (:mod:`connectors.email.pages`): confirm, unsubscribe, RFC 8058 one-click.

Settings: :class:`~connectors.email.settings.EmailSettings`. Without ``smtp_host`` (the default) it runs
in demo mode and writes every e-mail to ``<data_dir>/mail/*.eml``. Addresses are only ever logged masked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from fastapi import APIRouter

from bot.channels import ChannelConfigError, ChannelContext, ChannelKind, TryLater, cannot_send, channel_settings
from bot.privacy import mask_address
from bot.protocols import ContactBook
from bot.types import BulkBatch, BulkRefused, RouteContact
from connectors.email.compose import Composer
from connectors.email.pages import EmailPages
from connectors.email.progress import BatchProgress
from connectors.email.settings import EmailSettings
from connectors.email.transport import FileTransport, Refused, SmtpTransport, Transport
from connectors.line.rate_limit import PushRateLimiter, shared_storage_url

log = logging.getLogger(__name__)

#: The route (and channel) name.
ROUTE = "email"
#: The rate limit's key: one SMTP account for the whole deployment, whichever bot sends.
_RATE_KEY = "smtp"
#: Where demo mode writes e-mails, under the data directory.
DEMO_FOLDER = "mail"


class EmailChannel:
    """Sends notices and confirmations by e-mail and serves the pages of their links."""

    name: ClassVar[str] = ROUTE
    kind: ClassVar[ChannelKind] = ChannelKind.ROUTE
    #: Nothing is pushed to a route: notices reach it as deliveries (``send_many``).
    send = staticmethod(cannot_send)

    def __init__(self, settings: EmailSettings, context: ChannelContext, contacts: ContactBook, transport: Transport,
                 *, limiter: PushRateLimiter | None = None, progress: BatchProgress | None = None) -> None:
        self.settings = settings
        self.max_recipients = settings.max_recipients
        self.transport = transport
        self._contacts = contacts
        self._limiter = limiter or PushRateLimiter(settings.rate_per_second, endpoint="email")
        self._progress = progress or BatchProgress()
        public_url = settings.public_url or context.public_url
        self.composer = Composer(settings, context.catalog, public_url)
        self.pages = EmailPages(contacts, context.catalog, context.policy.default_language)

    @classmethod
    def from_config(cls, section: Mapping[str, Any], context: ChannelContext) -> EmailChannel:
        """Validate ``connectors.email``; SMTP when ``smtp_host`` is set, else files in ``<data_dir>/mail``."""
        settings = channel_settings(EmailSettings, cls.name, section)
        if context.contacts is None:
            raise ChannelConfigError(f"connectors.{cls.name}: this app keeps no contacts "
                                     f"(set connectors.{cls.name}.enabled: false to send no e-mail)")
        redis_url = shared_storage_url(context.environ)
        transport: Transport
        if settings.demo:
            folder = (context.data_path or Path("var")) / DEMO_FOLDER
            log.info("e-mail in demo mode (no connectors.email.smtp_host): e-mails are written to %s", folder)
            transport = FileTransport(folder)
        else:
            transport = SmtpTransport(settings, context.environ)
        limiter = PushRateLimiter(settings.rate_per_second, redis_url=redis_url, endpoint="email")
        return cls(settings, context, context.contacts, transport, limiter=limiter,
                   progress=BatchProgress(redis_url))

    def router(self) -> APIRouter:
        """The confirmation and unsubscribe pages."""
        return self.pages.router()

    async def send_many(self, batch: BulkBatch) -> None:
        """E-mail the notice to each resident of ``batch`` with a confirmed address (``bot.protocols.BulkSender``).

        One SMTP connection for the batch, one e-mail per resident. A resident whose e-mail was accepted (or
        refused for good) in an earlier attempt of the same batch is skipped; so are residents who
        unsubscribed since the notice was queued. Raises :class:`TryLater` when the server is down, slow, or
        refuses some recipients for now (the batch comes back later for them only), and
        :class:`BulkRefused` when it refuses every recipient (or our sender) for good.
        """
        contacts = await asyncio.to_thread(self._contacts.reachable, ROUTE, batch.conversation_ids)
        settled = await self._progress.settled(batch.key)
        todo = [contacts[cid] for cid in batch.conversation_ids if cid in contacts and cid not in settled]
        if not todo:
            return
        later = refused = 0
        async with self.transport.session() as session:
            for contact in todo:
                await self._limiter.acquire(_RATE_KEY)
                try:
                    await session.send(self.composer.notice(batch, contact))
                except Refused as error:
                    if not error.permanent:
                        later += 1
                        continue
                    refused += 1
                    log.warning("notice of batch %s refused for %s: smtp %s", batch.key,
                                mask_address(contact.address), error.code)
                await self._progress.settle(batch.key, contact.conversation_id)
        if later:
            raise TryLater(f"smtp: {later} recipient(s) refused for now")
        if refused == len(todo) and not settled:
            raise BulkRefused(f"smtp: every recipient refused ({refused})")

    async def send_confirmation(self, contact: RouteContact) -> None:
        """E-mail the link that confirms ``contact``'s address (``bot.protocols.AddressConfirmer``).

        Raises :class:`TryLater` when the server is down or refuses it for now, :class:`BulkRefused` when
        it refuses the address for good.
        """
        message = self.composer.confirmation(contact)
        async with self.transport.session() as session:
            await self._limiter.acquire(_RATE_KEY)
            try:
                await session.send(message)
            except Refused as error:
                if error.permanent:
                    raise BulkRefused(f"smtp {error.code}") from None
                raise TryLater(f"smtp {error.code}") from None

    def close(self) -> None:
        """Close connections to Redis (tests)."""
        self._progress.close()
