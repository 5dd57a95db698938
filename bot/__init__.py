"""Yorisoi orchestrator: configuration, dialogue engine, skills, forms, handoff, app factory and CLI.

Only this package wires the others together (nlu, knowledge, translations, connectors).
Importing it has no side effects.
"""
