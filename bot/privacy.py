"""Masking personal numbers before anything reaches a log.

Message texts are never logged at INFO; this filter is the second line of defence
for anything that slips into a log line anyway (an exception message, a URL).
"""

from __future__ import annotations

import logging
import re

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    # Numbers glued to ASCII letters are ids (hex conversation ids, tokens), not personal numbers.
    # card numbers (13-19 digits, optionally grouped) before shorter numbers
    (re.compile(r"(?<![0-9A-Za-z])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z])"), "[number]"),
    # My Number: 12 digits, often written 4-4-4
    (re.compile(r"(?<![0-9A-Za-z])\d{4}[ -]?\d{4}[ -]?\d{4}(?![0-9A-Za-z])"), "[my-number]"),
    # Japanese phone numbers: 0X(X)-XXXX-XXXX, +81 ..., 10-11 digits
    (re.compile(r"(?:\+81[ -]?|(?<![0-9A-Za-z])0)\d{1,4}[ -]?\d{1,4}[ -]?\d{3,4}(?![0-9A-Za-z])"), "[phone]"),
    # library cards and other long ids: 8+ digits
    (re.compile(r"(?<![0-9A-Za-z])\d{8,}(?![0-9A-Za-z])"), "[number]"),
)


def mask_personal(text: str) -> str:
    """``text`` with e-mail addresses, card numbers, My Numbers and phone numbers masked."""
    # Full-width digits are folded first so "０９０…" cannot slip through.
    folded = text.translate(_FULLWIDTH_DIGITS)
    for pattern, replacement in _PATTERNS:
        folded = pattern.sub(replacement, folded)
    return folded


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９－", "0123456789-")


def mask_address(address: str) -> str:
    """An e-mail address as logs and API answers may show it: ``t***@example.com`` (the first letter and the
    domain); ``***`` for anything that is not an address."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return "***"
    return f"{local[0]}***@{domain}"


class MaskingFilter(logging.Filter):
    """A logging filter that masks personal numbers in every record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message in place; never drops a record."""
        message = record.getMessage()
        masked = mask_personal(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            # Exception texts can quote user input; keep the type, mask the text.
            record.exc_text = mask_personal(logging.Formatter().formatException(record.exc_info))
        return True


def install_masking(logger: logging.Logger | None = None) -> None:
    """Attach :class:`MaskingFilter` to every handler of ``logger`` (default: the root logger)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())


_SECRET_IN_PATH = re.compile(
    r"(/api/v1/conversations/[^/\s]+/|[?&]resume=|/secure/|/email/(?:confirm|unsubscribe)/)[^\s&\"]+")


class AccessLogFilter(logging.Filter):
    """Redact conversation secrets from access logs: sender ids in transcript URLs, ``?resume=``, and the
    tokens of secure form links (``/secure/<token>``) and of e-mail confirmation and unsubscribe links."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's arguments in place; never drops a record."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_IN_PATH.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True
