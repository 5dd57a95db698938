"""Where e-mails go: an SMTP server (aiosmtplib, one connection per batch), or files in demo mode.

SMTP answers are sorted for the notification delivery: a server that is down, slow, disconnects or answers
4xx raises :class:`~bot.channels.TryLater` (the batch is tried again with backoff); a recipient the server
refuses raises :class:`Refused` (5xx: for good, 4xx: later) so the other recipients of the batch still get
theirs; a sender the server refuses for good raises :class:`~bot.types.BulkRefused`. No reason quotes the
server's text, which may contain the address: only codes and exception types are kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib

from bot.channels import TryLater
from bot.types import BulkRefused
from connectors.email.settings import EmailSettings, SmtpSecurity

log = logging.getLogger(__name__)

#: The lowest SMTP reply code that is a permanent failure.
PERMANENT = 500


class Refused(Exception):
    """The server refused one message's recipient (or its content): ``code`` ≥ 500 for good, else for now."""

    def __init__(self, code: int) -> None:
        super().__init__(f"smtp {code}")
        self.code = code

    @property
    def permanent(self) -> bool:
        """Whether sending it again cannot help."""
        return self.code >= PERMANENT


class MailSession(Protocol):
    """One open connection: sends messages one after another."""

    async def send(self, message: EmailMessage) -> None:
        """Send ``message``; raises :class:`Refused`, ``TryLater`` or ``BulkRefused``."""
        ...


class Transport(Protocol):
    """Opens sessions (one per batch)."""

    def session(self) -> AbstractAsyncContextManager[MailSession]:
        """An async context manager yielding a :class:`MailSession`; raises ``TryLater`` when it cannot open."""
        ...


class SmtpTransport:
    """Sends through the configured SMTP server; the password is read from the environment."""

    def __init__(self, settings: EmailSettings, environ: Mapping[str, str]) -> None:
        self._settings = settings
        self._password = environ.get(settings.password_env) or None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[MailSession]:
        """Connect (TLS or STARTTLS, then login when a username is set) and yield the session; quit at the end."""
        settings = self._settings
        client = aiosmtplib.SMTP(
            hostname=settings.smtp_host, port=settings.smtp_port, timeout=settings.timeout_seconds,
            use_tls=settings.security is SmtpSecurity.TLS,
            start_tls=settings.security is SmtpSecurity.STARTTLS,
            username=settings.username or None, password=self._password if settings.username else None,
        )
        try:
            await client.connect()
        except aiosmtplib.SMTPAuthenticationError as error:
            # Wrong credentials: retried (an administrator may fix them), then dead letters say why.
            log.error("SMTP login refused: %s", error.code)
            raise TryLater(f"smtp login refused ({error.code})") from None
        except aiosmtplib.SMTPResponseException as error:
            log.warning("SMTP server refused the connection: %s", error.code)
            raise TryLater(f"smtp {error.code}") from None
        except (aiosmtplib.SMTPException, OSError) as error:
            log.warning("SMTP server unreachable: %s", type(error).__name__)
            raise TryLater(f"smtp unreachable: {type(error).__name__}") from None
        try:
            yield _SmtpSession(client)
        finally:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


class _SmtpSession:
    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self._client = client

    async def send(self, message: EmailMessage) -> None:
        try:
            await self._client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            raise Refused(min(codes) if codes else PERMANENT) from None
        except aiosmtplib.SMTPDataError as error:  # the message itself (size, content) was refused
            raise Refused(error.code) from None
        except aiosmtplib.SMTPSenderRefused as error:  # our From address: the same for every recipient
            if error.code >= PERMANENT:
                raise BulkRefused(f"smtp {error.code}: sender refused") from None
            raise TryLater(f"smtp {error.code}: sender refused") from None
        except aiosmtplib.SMTPResponseException as error:
            raise TryLater(f"smtp {error.code}") from None
        except (aiosmtplib.SMTPException, OSError) as error:  # disconnected, timed out
            raise TryLater(f"smtp unreachable: {type(error).__name__}") from None


class FileTransport:
    """Demo mode: each e-mail becomes ``<folder>/<hash of its Message-ID>.eml`` (a resend overwrites it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @asynccontextmanager
    async def session(self) -> AsyncIterator[MailSession]:
        """A session that writes files."""
        yield _FileSession(self.folder)


class _FileSession:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(str(message["Message-ID"]).encode()).hexdigest()[:32]
        path = self._folder / f"{name}.eml"
        draft = path.with_suffix(f".{os.getpid()}.tmp")
        draft.write_bytes(message.as_bytes())
        draft.replace(path)  # whole files only, also when two processes write the same one

