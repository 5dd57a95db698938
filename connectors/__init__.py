"""Channels: LINE, the web API/widget, the kiosk, the staff console, Rasa's REST channel and the secure forms.

Connectors parse and authenticate what arrives, hand an ``InboundMessage`` to the
engine and render its replies. Each channel is a plugin: a class in its ``channel`` module,
registered under the ``yorisoi.channels`` entry point group (``pyproject.toml``; see
``bot.channels``). From the core they import only its public modules (``bot.types``,
``bot.protocols``, ``bot.channels``, ``bot.payloads``, ``bot.privacy``, ``bot.enums``), and
never ``nlu`` or ``knowledge``.
"""
