"""The ``admin`` channel: the administrators' JSON API (broadcasts to residents)."""
