"""Broadcasts as the admin API sends them: JSON-shaped requests in, JSON-shaped answers out.

:class:`BroadcastDesk` implements :class:`bot.protocols.Broadcasts` on the notification service,
so a channel (``connectors/admin``) needs nothing but the public core modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.enums import NotificationKind
from bot.notifications.service import NotificationService
from bot.notifications.types import Audience, InvalidNotification, NotificationContent


class BroadcastDesk:
    """The :class:`bot.protocols.Broadcasts` of a deployment."""

    def __init__(self, service: NotificationService) -> None:
        self._service = service

    def send(self, bot: str, audience: dict[str, Any], message: dict[str, Any], *, kind: str, created_by: str,
             dry_run: bool = False) -> dict[str, Any]:
        """Queue ``message`` (or only count its recipients, ``dry_run``): ``{"id", "recipients", "missing_languages"}``.

        ``audience``: ``channels``, ``languages``, ``conversation_ids`` (lists) and ``districts``
        (refused for now); ``message``: ``{"<language>": "text", ...}`` or ``{"key", "params"}``.
        Raises :class:`InvalidNotification` (422).
        """
        try:
            notification_kind = NotificationKind(kind)
        except ValueError:
            raise InvalidNotification("invalid_kind", f"kind: use one of {', '.join(k.value for k in NotificationKind)}"
                                      ) from None
        target = Audience(bot, channels=_codes(audience, "channels"), languages=_codes(audience, "languages"),
                          conversation_ids=_codes(audience, "conversation_ids"),
                          districts=_codes(audience, "districts"))
        content = _content(message)
        if dry_run:
            receipt = self._service.preview(target, content)
        else:
            receipt = self._service.send(notification_kind, target, content, created_by)
        return {"id": receipt.id, "recipients": receipt.recipients,
                "missing_languages": list(receipt.missing_languages)}

    def status(self, notification_id: int) -> dict[str, Any] | None:
        """``{"status", "sent", "failed", "skipped", "pending", "dead_letters", ...}``; None for an unknown id."""
        report = self._service.status(notification_id)
        return None if report is None else report.to_json()


def _codes(audience: Mapping[str, Any], name: str) -> tuple[str, ...]:
    values = audience.get(name) or ()
    if isinstance(values, str):
        values = (values,)
    if not all(isinstance(value, str) for value in values):
        raise InvalidNotification("invalid_audience", f"audience.{name}: a list of strings")
    return tuple(dict.fromkeys(values))


def _content(message: Mapping[str, Any]) -> NotificationContent:
    if "key" in message:
        extra = sorted(set(message) - {"key", "params"})
        params = message.get("params") or {}
        if extra or not isinstance(message["key"], str) or not isinstance(params, Mapping):
            raise InvalidNotification("invalid_message", "message: {\"key\": \"catalog.key\", \"params\": {...}}")
        if not all(isinstance(value, str | int | float) and not isinstance(value, bool) for value in params.values()):
            raise InvalidNotification("invalid_message", "message.params: text or number values")
        return NotificationContent.catalog(message["key"], **{str(name): value for name, value in params.items()})
    if not message:
        raise InvalidNotification("empty_message", "message: give a catalog key or texts per language")
    if not all(isinstance(text, str) for text in message.values()):
        raise InvalidNotification("invalid_message", "message: {\"<language>\": \"text\", ...}")
    return NotificationContent.curated({str(code): text for code, text in message.items()})
