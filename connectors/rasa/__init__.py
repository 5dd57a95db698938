"""Rasa's REST channel, so existing Rasa web clients work unchanged."""
