"""``connectors.email`` in ``config.yml``: the SMTP server, the sender, and the pace of sending.

Without ``smtp_host`` the channel runs in **demo mode**: every e-mail is written as an ``.eml`` file to
``<data_dir>/mail/`` instead of being sent, so ``make run`` shows the whole flow with nothing installed.
The password is a secret: it comes from the environment (``password_env``, default
``YORISOI_SMTP_PASSWORD``), never from the file.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parseaddr
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The environment variable the SMTP password is read from by default.
PASSWORD_ENV = "YORISOI_SMTP_PASSWORD"
#: Recipients per batch by default: one SMTP session sends one message to each.
DEFAULT_BATCH = 20
#: E-mails per second by default, all processes together (many relays throttle above this).
DEFAULT_RATE = 10


class SmtpSecurity(StrEnum):
    """How the SMTP connection is protected."""

    #: Plain connection upgraded with STARTTLS (port 587, submission).
    STARTTLS = "starttls"
    #: TLS from the first byte (port 465, SMTPS).
    TLS = "tls"
    #: No encryption: only for a relay on the same machine or in tests.
    NONE = "none"


class EmailSettings(BaseModel):
    """``connectors.email``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The SMTP server; empty: demo mode (``.eml`` files in ``<data_dir>/mail``, nothing is sent).
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    #: The SMTP login (none when empty); its password comes from the environment variable ``password_env``.
    username: str = ""
    password_env: str = Field(default=PASSWORD_ENV, pattern=r"^[A-Z_][A-Z0-9_]*$")
    #: ``From:`` of every e-mail, e.g. ``Yorisoi City <noreply@city.example>``.
    from_address: str = "Yorisoi <noreply@yorisoi.example>"
    #: Links in e-mails start with this (default: ``server.public_url``, else the local server's address).
    public_url: str | None = None
    #: Residents per batch: one SMTP connection sends one e-mail to each (each has its own unsubscribe link).
    max_recipients: int = Field(default=DEFAULT_BATCH, ge=1, le=500)
    #: E-mails per second, all processes together (shared through Redis like LINE's push rate).
    rate_per_second: int = Field(default=DEFAULT_RATE, ge=1, le=1000)
    #: Seconds an SMTP connection or command may take before the batch is tried again later.
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    @field_validator("from_address")
    @classmethod
    def _an_address(cls, value: str) -> str:
        _name, address = parseaddr(value)
        if "@" not in address:
            raise ValueError("must be an e-mail address, e.g. 'City <noreply@city.example>'")
        return value

    @property
    def demo(self) -> bool:
        """Whether e-mails are written to files instead of being sent."""
        return not self.smtp_host.strip()

    @property
    def sender(self) -> Address:
        """``from_address`` as a header value."""
        name, address = parseaddr(self.from_address)
        local, _, domain = address.rpartition("@")
        return Address(display_name=name, username=local, domain=domain)
