"""Button payloads in Rasa's format: ``/intent`` or ``/intent{"entity": "value"}``.

Using Rasa's format means buttons work the same in Rasa web clients, the widget
and LINE postbacks: the payload comes back as the text of the next message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

_PAYLOAD = re.compile(r"^/([A-Za-z_][A-Za-z0-9_]*)(\{.*\})?$", re.DOTALL)


@dataclass(frozen=True)
class Payload:
    """A parsed button payload."""

    intent: str
    entities: dict[str, str] = field(default_factory=dict)


def parse_payload(text: str) -> Payload | None:
    """The payload in ``text``, or None when it is an ordinary message."""
    match = _PAYLOAD.match(text.strip())
    if match is None:
        return None
    entities: dict[str, str] = {}
    if match.group(2):
        try:
            decoded = json.loads(match.group(2))
        except json.JSONDecodeError:
            return None
        if not isinstance(decoded, dict):
            return None
        entities = {str(key): str(value) for key, value in decoded.items()}
    return Payload(match.group(1), entities)


def make_payload(intent: str, **entities: str) -> str:
    """The payload text for ``intent`` with ``entities``."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, ensure_ascii=False, separators=(',', ':'))}"
