"""Broadcasts as the admin API sends them: JSON-shaped requests in, JSON-shaped answers out.

:class:`BroadcastDesk` implements :class:`bot.protocols.Broadcasts` on the notification service,
so a channel (``connectors/admin``) needs nothing but the public core modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.enums import NotificationKind
from bot.notifications.history import MAX_RECENT, NotificationHistory
from bot.notifications.preview import NoticePreview
from bot.notifications.service import NotificationService
from bot.notifications.types import Audience, InvalidNotification, NotificationContent
from bot.types import ClientError

#: What an admin may broadcast (a service's own notices, such as queue calls, are sent by the service).
BROADCAST_KINDS = (NotificationKind.NOTICE, NotificationKind.REMINDER, NotificationKind.DISASTER)


class BroadcastDesk:
    """The :class:`bot.protocols.Broadcasts` of a deployment."""

    def __init__(self, service: NotificationService, *, history: NotificationHistory | None = None,
                 preview: NoticePreview | None = None) -> None:
        """``history`` lists recent broadcasts and ``preview`` renders one language (the console's page);
        without them :meth:`recent` lists nothing and :meth:`render` is refused."""
        self._service = service
        self._history = history
        self._preview = preview

    def send(self, bot: str, audience: dict[str, Any], message: dict[str, Any], *, kind: str, created_by: str,
             dry_run: bool = False) -> dict[str, Any]:
        """Queue ``message`` (or only count its recipients, ``dry_run``): ``{"id", "recipients", "missing_languages"}``.

        ``audience``: ``channels``, ``languages``, ``conversation_ids`` (lists) and ``districts``
        (ids of the city profile); ``message``: ``{"<language>": "text", ...}`` or ``{"key", "params"}``.
        Raises :class:`InvalidNotification` (422).
        """
        try:
            notification_kind = NotificationKind(kind)
        except ValueError:
            notification_kind = None
        if notification_kind not in BROADCAST_KINDS:  # service notices (queue calls) are not for broadcasts
            raise InvalidNotification("invalid_kind", f"kind: use one of {', '.join(BROADCAST_KINDS)}")
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

    def recent(self, limit: int = 20, bot: str | None = None) -> list[dict[str, Any]]:
        """Up to ``limit`` broadcasts, newest first (``bot``'s only when given), with their delivery counts."""
        if self._history is None:
            return []
        return [summary.to_json() for summary in self._history.recent(min(limit, MAX_RECENT), bot)]

    def render(self, bot: str, message: dict[str, Any], language: str) -> dict[str, Any]:
        """``message`` as a follower of ``bot`` reading ``language`` would get it; nothing is stored.

        ``{"language", "text", "own_text", "machine_translated", "original", "original_language",
        "fallback_language"}``; raises :class:`InvalidNotification` (422) as :meth:`send` does.
        """
        if self._preview is None:
            raise ClientError(501, "preview_unavailable", "this deployment renders no previews")
        return self._preview.render(bot, _content(message), language).to_json()


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
