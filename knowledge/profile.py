"""The city profile: one file of city-specific facts that answers refer to by key.

Answers and catalog texts write ``{offices.city_hall.phone}``; :meth:`CityProfile.fill`
puts in the value in the reader's language. Another city adopts Yorisoi by editing
``city_profile.yml`` only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from translations.languages import fallback_chain

PROFILE_PATH = Path(__file__).resolve().parent / "data" / "city_profile.yml"
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*(?:\.[a-z0-9_\-]+)+)\}")


class UnknownProfileKey(KeyError):
    """An answer refers to a key the profile does not have."""


class CityProfile:
    """Facts of one city, looked up by dotted key."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @classmethod
    def load(cls, path: Path = PROFILE_PATH) -> CityProfile:
        """Read ``city_profile.yml``."""
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the profile must be a mapping")
        return cls(data)

    @property
    def is_demo(self) -> bool:
        """True for the shipped demo city (its facts are invented)."""
        return bool(self._data.get("demo"))

    def node(self, key: str) -> Any:
        """The raw value at ``key`` (a mapping, a language map or a string)."""
        node: Any = self._data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise UnknownProfileKey(key)
            node = node[part]
        return node

    def has(self, key: str) -> bool:
        """Whether ``key`` names a printable value."""
        try:
            return _is_value(self.node(key))
        except UnknownProfileKey:
            return False

    def value(self, key: str, language: str) -> str:
        """The value at ``key`` in ``language`` (falling back like the catalogs do)."""
        node = self.node(key)
        if not _is_value(node):
            raise UnknownProfileKey(key)
        if not isinstance(node, dict):
            return str(node)
        for candidate in fallback_chain(language):
            if candidate in node:
                return str(node[candidate])
        return str(next(iter(node.values())))

    def children(self, key: str) -> list[str]:
        """Names under a mapping key, e.g. the district ids under ``districts``."""
        node = self.node(key)
        return [name for name, value in node.items() if isinstance(value, dict)] if isinstance(node, dict) else []

    def fill(self, text: str, language: str) -> str:
        """Replace every ``{dotted.key}`` in ``text``; unknown keys raise :class:`UnknownProfileKey`."""
        return PLACEHOLDER.sub(lambda match: self.value(match.group(1), language), text)

    def missing_keys(self, text: str) -> list[str]:
        """Placeholders in ``text`` that the profile cannot fill."""
        return [key for key in PLACEHOLDER.findall(text) if not self.has(key)]


def _is_value(node: Any) -> bool:
    """A leaf: plain text, or a language map (has ja or en)."""
    return not isinstance(node, dict) or "ja" in node or "en" in node
