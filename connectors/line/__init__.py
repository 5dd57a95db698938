"""The LINE channel: one LINE official account per bot.

- :class:`LineConnector` (``webhook``): ``POST /line/{bot}/webhook``, signature check, store, 200 at once.
- :class:`LineDelivery` (``delivery``): answers in the background: reply token first, push as fallback.
- ``render``: engine replies as LINE messages (text, quick replies, flex carousels, images).
- ``rich_menu``: :func:`setup_rich_menu` (topics + a language switch) and its command line.
- :class:`LineSettings` (``settings``): credentials per bot, from ``LINE_<BOT>_...`` variables.
- ``channel``: :class:`~connectors.line.channel.LineMessagingChannel`, the registered ``line`` channel
  (the webhook, and pushes of messages written outside a reply through ``push.LinePusher``).
"""

from connectors.line.delivery import EventRecord, LineDelivery
from connectors.line.rich_menu import setup_rich_menu
from connectors.line.settings import LineChannel, LineSettings
from connectors.line.webhook import LineConnector

__all__ = ["EventRecord", "LineChannel", "LineConnector", "LineDelivery", "LineSettings", "setup_rich_menu"]
