"""The ticket's QR code: a URL with the office, the number, the day and a signature.

``/q/{office}/{ticket}?d=2026-12-02&s=<signature>`` opens a page that starts the chat with the
subscription filled in. The signature is an HMAC-SHA256 of ``office:ticket:day`` with the key
``ticket_secret`` from the config, or one derived from the deployment's secret key
(``bot.secrets.load_key``). The ingest API answers an ``issued`` event with the URL, so the ticketing
machine prints it without knowing the key. A code from another day is refused (numbers start again
every day); a guessed URL is refused because its signature is wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date
from urllib.parse import urlencode

#: Bytes of the HMAC kept in the URL (128 bits: unguessable, and a short QR code).
SIGNATURE_BYTES = 16
_DERIVATION = b"yorisoi/queue-ticket/v1"


def derive_key(secret: bytes | str) -> bytes:
    """The ticket-signing key derived from a deployment secret (never the secret itself)."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, _DERIVATION, hashlib.sha256).digest()


class TicketLinks:
    """Signs and checks ticket URLs."""

    def __init__(self, key: bytes, base_url: str = "") -> None:
        """``base_url``: the public address (``""``: relative URLs)."""
        self._key = key
        self._base = base_url.rstrip("/")

    def signature(self, office: str, ticket: int, day: date) -> str:
        """The signature of one ticket of one day."""
        message = f"{office}:{ticket}:{day.isoformat()}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def url(self, office: str, ticket: int, day: date) -> str:
        """The QR code's URL."""
        query = urlencode({"d": day.isoformat(), "s": self.signature(office, ticket, day)})
        return f"{self._base}/q/{office}/{ticket}?{query}"

    def valid(self, office: str, ticket: int, day: str, signature: str) -> bool:
        """Whether ``signature`` was made for this office, ticket and day (constant time)."""
        try:
            parsed = date.fromisoformat(day)
        except ValueError:
            return False
        return hmac.compare_digest(self.signature(office, ticket, parsed), signature)
