"""The kiosk channel: a touch screen for seniors at community centres (``KioskConnector``)."""
