"""Personal numbers never reach the logs."""

from __future__ import annotations

import io
import logging

from bot.privacy import MaskingFilter, mask_personal


def test_personal_numbers_are_masked() -> None:
    text = ("My Number 1234 5678 9012, call 090-1234-5678 or ０３-１２３４-５６７８, "
            "mail taro@example.jp, card 4111 1111 1111 1111, library card 2012345678")
    masked = mask_personal(text)
    for secret in ("5678 9012", "1234-5678", "taro@", "4111", "2012345678", "１２３４"):
        assert secret not in masked
    assert "[email]" in masked and "[phone]" in masked and "[my-number]" in masked


def test_ordinary_numbers_stay() -> None:
    assert mask_personal("ticket 123, 300 yen, 14 days, 2026-11-24") == "ticket 123, 300 yen, 14 days, 2026-11-24"


def test_the_logging_filter_masks_messages_and_exceptions() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("yorisoi.test.privacy")
    logger.addHandler(handler)
    try:
        logger.warning("callback to %s", "080-9876-5432")
        try:
            raise ValueError("bad e-mail hanako@example.com")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "9876" not in output and "hanako@" not in output
    assert "[phone]" in output and "[email]" in output
