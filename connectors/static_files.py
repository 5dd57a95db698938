"""Serving a connector's own static files (a fixed list: nothing else in the folder is reachable)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from connectors.errors import ApiError


async def static_file(folder: Path, allowed: Mapping[str, str], name: str) -> Response:
    """``name`` from ``folder`` with its media type from ``allowed``; 404 for any other name."""
    if name not in allowed:
        raise ApiError(404, "not_found", f"no static file {name!r}")
    body = await run_in_threadpool((folder / name).read_bytes)
    return Response(body, media_type=allowed[name],
                    headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})
