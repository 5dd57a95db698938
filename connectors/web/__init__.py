"""The web channel: JSON API (and, later, the WebSocket and the embeddable widget)."""
