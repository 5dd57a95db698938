"""The staff desk: handoff to staff and interpreters, accounts, pushes and the resident's side of it.

Connectors reach it only through the protocols in :mod:`bot.protocols`.
"""
