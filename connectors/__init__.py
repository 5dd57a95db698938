"""Channels: LINE, the web API/widget, the kiosk, the staff console and Rasa's REST channel.

Connectors parse and authenticate what arrives, hand an ``InboundMessage`` to the
engine and render its replies. They never import ``nlu`` or ``knowledge``.
"""
