"""Test doubles. ``RuleNlu`` now lives in :mod:`bot.fakes` (with a fake of every protocol); re-exported here."""

from __future__ import annotations

from bot.fakes import RuleNlu

__all__ = ["RuleNlu"]
