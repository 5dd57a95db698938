"""The trained-model directory: atomic replacement and compatibility checks."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

#: Bumped when the artifact layout changes; older artifacts must be retrained.
ARTIFACT_FORMAT = 1


class IncompatibleModelError(ValueError):
    """The artifact was trained with another encoder or an older layout: retrain."""


def write_atomically(model_dir: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(tmp_dir)`` and swap the result into ``model_dir``.

    A server reading the old artifact never sees a half-written one; the old
    directory is removed only after the new one is in place.
    """
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.new-", dir=model_dir.parent))
    try:
        write(staging)
        retired = None
        if model_dir.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.old-", dir=model_dir.parent))
            retired.rmdir()
            model_dir.rename(retired)
        staging.rename(model_dir)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_compatible(metadata: Mapping[str, Any], encoder_name: str, encoder_dim: int, model_dir: Path) -> None:
    """Raise :class:`IncompatibleModelError` unless the artifact fits the configured encoder."""
    if metadata.get("format") != ARTIFACT_FORMAT:
        raise IncompatibleModelError(
            f"{model_dir}: model format {metadata.get('format')} is not {ARTIFACT_FORMAT}; run `yorisoi train`"
        )
    if metadata.get("encoder") != encoder_name or int(metadata.get("dim", -1)) != encoder_dim:
        raise IncompatibleModelError(
            f"{model_dir}: trained with encoder {metadata.get('encoder')!r} but the configuration uses "
            f"{encoder_name!r}; run `yorisoi train`"
        )
