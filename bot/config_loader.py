"""Read a YAML file into plain Python data, remembering the line of every key.

The line map lets configuration errors name the file line instead of dumping a
traceback, and ``${VAR}`` / ``${VAR:-default}`` expansion happens here so secrets
never have to be written into the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Location = tuple[str | int, ...]


class ConfigFileError(ValueError):
    """A configuration file cannot be read; the message names the file and line."""


@dataclass
class LoadedYaml:
    """Data read from a YAML file, with the 1-based line of every mapping key and list item."""

    data: Any
    path: Path
    lines: dict[Location, int] = field(default_factory=dict)

    def line_of(self, location: Location) -> int | None:
        """The line of ``location`` or of its nearest parent that has one."""
        loc = tuple(location)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return None


def expand_env(value: str, environ: Mapping[str, str], where: str) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}``; an unset variable without default is an error."""

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ and environ[name] != "":
            return environ[name]
        if default is not None:
            return default
        raise ConfigFileError(f"{where}: environment variable {name} is not set (write ${{{name}:-default}})")

    return _ENV_PATTERN.sub(substitute, value)


def load_yaml_with_lines(path: Path, environ: Mapping[str, str] | None = None) -> LoadedYaml:
    """Parse ``path``; scalars get environment expansion and every key its line number."""
    env = os.environ if environ is None else environ
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigFileError(f"{path}{line}: invalid YAML: {problem}") from None
    loaded = LoadedYaml(data=None, path=path)
    if root is not None:
        loaded.data = _construct(root, (), loaded, env)
    return loaded


def _construct(node: yaml.Node, location: Location, loaded: LoadedYaml, env: Mapping[str, str]) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_construct(key_node, location, loaded, env))
            child = (*location, key)
            loaded.lines[child] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, child, loaded, env)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item_node in enumerate(node.value):
            child = (*location, index)
            loaded.lines[child] = item_node.start_mark.line + 1
            items.append(_construct(item_node, child, loaded, env))
        return items
    assert isinstance(node, yaml.ScalarNode)
    if node.tag == "tag:yaml.org,2002:str" and "${" in node.value:
        where = f"{loaded.path} line {node.start_mark.line + 1}"
        return _plain_scalar(expand_env(node.value, env, where))
    return _SCALAR_LOADER.construct_object(node, deep=True)


# Constructing a scalar node never reads the loader's stream, so one loader serves all.
_SCALAR_LOADER = yaml.SafeLoader("")


def _plain_scalar(expanded: str) -> Any:
    """Type an expanded value like a literal would be (``${PORT:-8000}`` is an int), never as YAML."""
    if re.fullmatch(r"-?\d+", expanded):
        return int(expanded)
    lowered = expanded.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "~"):
        return None
    return expanded
