"""UI string catalogs: one YAML file per language, ``key: text`` with ``{name}`` parameters.

Every key exists in ``ja`` and ``en``; other languages may lag behind and then fall
back (see :func:`translations.languages.fallback_chain`). Text is always a whole
sentence with named parameters, never glued together from fragments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from translations.languages import fallback_chain

CATALOG_DIR = Path(__file__).resolve().parent / "catalogs"
_PARAMETER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class MissingText(KeyError):
    """A catalog key that exists in no language of the fallback chain."""


@dataclass(frozen=True)
class Rendered:
    """A catalog text and the language it was actually found in."""

    text: str
    language: str


class Catalog:
    """All UI strings of all languages."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        self._texts = {language: dict(entries) for language, entries in texts.items()}

    @classmethod
    def load(cls, folder: Path = CATALOG_DIR) -> Catalog:
        """Read every ``<language>.yml`` in ``folder``."""
        texts: dict[str, dict[str, str]] = {}
        for path in sorted(folder.glob("*.yml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if not isinstance(data, dict):
                raise ValueError(f"{path}: expected key: text pairs")
            texts[path.stem] = {str(key): str(value).rstrip("\n") for key, value in data.items()}
        return cls(texts)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages that have a catalog file."""
        return tuple(self._texts)

    def keys(self, language: str = "en") -> set[str]:
        """Keys defined for ``language``."""
        return set(self._texts.get(language, {}))

    def has(self, key: str) -> bool:
        """Whether ``key`` exists in English (every key must)."""
        return key in self._texts.get("en", {})

    def raw(self, key: str, language: str) -> str | None:
        """The unformatted text of ``key`` in exactly ``language``, if present."""
        return self._texts.get(language, {}).get(key)

    def render(self, key: str, language: str, **params: object) -> Rendered:
        """``key`` in ``language`` (or its fallback), with ``{name}`` parameters filled in."""
        for candidate in fallback_chain(language):
            template = self._texts.get(candidate, {}).get(key)
            if template is not None:
                return Rendered(_fill(template, params), candidate)
        raise MissingText(key)

    def text(self, key: str, language: str, **params: object) -> str:
        """Shortcut for ``render(...).text``."""
        return self.render(key, language, **params).text


def parameters(template: str) -> set[str]:
    """Names of the ``{name}`` parameters in ``template``."""
    return set(_PARAMETER.findall(template))


def _fill(template: str, params: Mapping[str, object]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(params[name]) if name in params else match.group(0)

    return _PARAMETER.sub(substitute, template)
