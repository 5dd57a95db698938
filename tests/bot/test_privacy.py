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


def test_access_logs_do_not_reveal_conversation_secrets() -> None:
    from bot.privacy import AccessLogFilter

    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d', (
        "127.0.0.1:5", "GET", "/api/v1/conversations/library/web-3f9a2c?x=1", "1.1", 200), None)
    AccessLogFilter().filter(record)
    assert "3f9a2c" not in record.getMessage() and "/api/v1/conversations/library/[redacted]" in record.getMessage()
    resume = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, "%s", ("/?bot=city_hall&resume=k-77ab",), None)
    AccessLogFilter().filter(resume)
    assert "77ab" not in resume.getMessage()
