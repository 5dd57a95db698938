"""Argos Translate packages on disk: install an ``.argosmodel``, list, remove; argostranslate's environment.

An ``.argosmodel`` is a zip of one directory holding ``metadata.json`` (``from_code``,
``to_code``, ``package_version``), a CTranslate2 model in ``model/`` and a tokenizer
(``sentencepiece.model``, or ``bpe.model`` for a few old packages). Packages live in
``<data_dir>/argos-packages``, one directory each, named ``translate-<from>_<to>-<version>``.
Nothing here downloads anything or imports ``argostranslate``.

Argos uses its own codes for a few languages; :func:`yorisoi_code` and :func:`argos_codes`
translate (``zh`` ↔ ``zh-Hans``, ``zt`` ↔ ``zh-Hant``, ``pb`` → ``pt``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from languages import LANGUAGES, base_language, from_argos_code

log = logging.getLogger(__name__)

PACKAGES_SUBDIR = "argos-packages"
MAX_ARCHIVE_BYTES = 4 * 1024**3
MAX_ARCHIVE_FILES = 10_000


def yorisoi_code(argos_code: str) -> str:
    """An Argos language code as a Yorisoi code (``zt`` → ``zh-Hant``); unknown codes unchanged."""
    return from_argos_code(argos_code)


def argos_codes(language: str) -> tuple[str, ...]:
    """Argos codes that serve a Yorisoi language, preferred first (``ja-x-easy`` → ``("ja",)``)."""
    language = base_language(language)
    known = LANGUAGES.get(language)
    return known.argos_codes if known is not None else (language,)


@dataclass(frozen=True)
class PackageInfo:
    """An installed translation package."""

    name: str
    path: Path
    from_code: str
    to_code: str
    #: Yorisoi codes of ``from_code`` / ``to_code``.
    source: str
    target: str
    version: str
    #: ``sentencepiece`` or ``bpe``.
    tokenizer: str
    target_prefix: str
    size_bytes: int

    def as_dict(self) -> dict[str, object]:
        """JSON-ready fields (for ``yorisoi translations list --json``)."""
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def packages_dir_for(data_dir: Path) -> Path:
    """Where packages live inside the app's data directory."""
    return Path(data_dir) / PACKAGES_SUBDIR


def argos_environment(data_dir: Path) -> dict[str, str]:
    """The environment argostranslate needs to keep every file under ``data_dir`` (nothing in $HOME)."""
    data_dir = Path(data_dir).resolve()
    return {
        "ARGOS_PACKAGES_DIR": str(packages_dir_for(data_dir)),
        "XDG_DATA_HOME": str(data_dir / "xdg" / "data"),
        "XDG_CACHE_HOME": str(data_dir / "xdg" / "cache"),
        "XDG_CONFIG_HOME": str(data_dir / "xdg" / "config"),
        "ARGOS_DEVICE_TYPE": os.environ.get("ARGOS_DEVICE_TYPE", "cpu"),
    }


def configure_environment(data_dir: Path) -> dict[str, str]:
    """Set :func:`argos_environment` in ``os.environ`` and create the directories; returns what was set.

    Call it once at start-up, before anything imports ``argostranslate`` (whose settings
    module reads these variables and creates its directories on import). The XDG variables
    are process-wide: other libraries that honour them will also look under ``data_dir``.
    """
    environment = argos_environment(data_dir)
    for key, value in environment.items():
        os.environ[key] = value
        if key != "ARGOS_DEVICE_TYPE":
            Path(value).mkdir(parents=True, exist_ok=True)
    return environment


def read_package(path: Path) -> PackageInfo:
    """Validate an installed (unpacked) package directory; ValueError says what is wrong."""
    path = Path(path)
    metadata_path = path / "metadata.json"
    if not metadata_path.is_file():
        raise ValueError(f"{path}: no metadata.json (not an Argos Translate package)")
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{metadata_path}: not valid JSON: {error}") from error
    if not isinstance(metadata, dict):
        raise ValueError(f"{metadata_path}: expected a JSON object")
    package_type = metadata.get("type", "translate")
    if package_type != "translate":
        raise ValueError(f"{metadata_path}: type {package_type!r} is not a translation package")
    from_code, to_code = metadata.get("from_code"), metadata.get("to_code")
    if not isinstance(from_code, str) or not from_code or not isinstance(to_code, str) or not to_code:
        raise ValueError(
            f"{metadata_path}: from_code and to_code are required (multilingual packages are not supported)"
        )
    if not (path / "model" / "model.bin").is_file():
        raise ValueError(f"{path}: no CTranslate2 model (model/model.bin)")
    if (path / "sentencepiece.model").is_file():
        tokenizer = "sentencepiece"
    elif (path / "bpe.model").is_file():
        tokenizer = "bpe"
    else:
        raise ValueError(f"{path}: no tokenizer (sentencepiece.model or bpe.model)")
    size = sum(file.stat().st_size for file in path.rglob("*") if file.is_file())
    return PackageInfo(
        name=path.name,
        path=path,
        from_code=from_code,
        to_code=to_code,
        source=yorisoi_code(from_code),
        target=yorisoi_code(to_code),
        version=str(metadata.get("package_version") or "0"),
        tokenizer=tokenizer,
        target_prefix=str(metadata.get("target_prefix") or ""),
        size_bytes=size,
    )


def list_packages(packages_dir: Path) -> list[PackageInfo]:
    """Valid packages in ``packages_dir``, sorted by pair (broken directories are logged and skipped)."""
    packages_dir = Path(packages_dir)
    if not packages_dir.is_dir():
        return []
    found = []
    for child in sorted(packages_dir.iterdir()):
        if not child.is_dir() or child.name.startswith("."):
            continue
        try:
            found.append(read_package(child))
        except ValueError as error:
            log.warning("skipping a broken translation package: %s", error)
    return sorted(found, key=lambda package: (package.source, package.target, package.name))


def install_package(archive: Path, packages_dir: Path) -> PackageInfo:
    """Install an ``.argosmodel`` file into ``packages_dir``, replacing any package of the same pair.

    Raises ValueError with a clear message when the file is missing, not a zip, unsafe
    (absolute or ``..`` paths, links, too large) or not a valid package.
    """
    archive, packages_dir = Path(archive), Path(packages_dir)
    if not archive.is_file():
        raise ValueError(f"{archive}: file not found")
    if not zipfile.is_zipfile(archive):
        raise ValueError(f"{archive}: not a zip archive (an .argosmodel file is a zip)")
    packages_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=packages_dir))
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = _safe_members(zipped, archive)
            zipped.extractall(staging, members=members)
        root = _package_root(staging, archive)
        info = read_package(root)
        final = packages_dir / _directory_name(info)
        for existing in list_packages(packages_dir):
            if (existing.from_code, existing.to_code) == (info.from_code, info.to_code) or existing.path == final:
                shutil.rmtree(existing.path)
        if final.exists():
            shutil.rmtree(final)
        root.rename(final)
        return read_package(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def remove_package(packages_dir: Path, source: str, target: str) -> list[PackageInfo]:
    """Remove the packages translating ``source`` → ``target`` (Yorisoi or Argos codes); returns them."""
    removed = []
    for package in list_packages(packages_dir):
        if {source, yorisoi_code(source)} & {package.from_code, package.source} and {
            target,
            yorisoi_code(target),
        } & {package.to_code, package.target}:
            shutil.rmtree(package.path)
            removed.append(package)
    return removed


def _safe_members(zipped: zipfile.ZipFile, archive: Path) -> list[zipfile.ZipInfo]:
    members = zipped.infolist()
    if len(members) > MAX_ARCHIVE_FILES:
        raise ValueError(f"{archive}: too many files ({len(members)})")
    if sum(member.file_size for member in members) > MAX_ARCHIVE_BYTES:
        raise ValueError(f"{archive}: unpacks to more than {MAX_ARCHIVE_BYTES // 1024**3} GiB")
    for member in members:
        name = PurePosixPath(member.filename.replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts or re.match(r"^[A-Za-z]:", member.filename):
            raise ValueError(f"{archive}: unsafe path in archive: {member.filename!r}")
        if (member.external_attr >> 16) & 0o170000 == 0o120000:
            raise ValueError(f"{archive}: symbolic links are not allowed: {member.filename!r}")
    return members


def _package_root(staging: Path, archive: Path) -> Path:
    """The directory with metadata.json: the archive's root, or its single top-level directory."""
    if (staging / "metadata.json").is_file():
        root = staging / "package"
        root.mkdir()
        for child in list(staging.iterdir()):
            if child != root:
                child.rename(root / child.name)
        return root
    entries = [child for child in staging.iterdir() if child.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / "metadata.json").is_file():
        return entries[0]
    raise ValueError(f"{archive}: no metadata.json at the top of the archive (not an Argos Translate package)")


def _directory_name(info: PackageInfo) -> str:
    version = re.sub(r"[^0-9A-Za-z]+", "_", info.version).strip("_") or "0"
    pair = re.sub(r"[^0-9A-Za-z_-]+", "", f"{info.from_code}_{info.to_code}")
    return f"translate-{pair}-{version}"
