"""The web channel: the JSON API (``api``), the embeddable widget with its WebSocket and demo page (``widget``)."""
