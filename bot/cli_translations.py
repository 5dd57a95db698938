"""``yorisoi translations install PATH.argosmodel | list [--json] | remove FROM TO``.

Argos Translate packages live in ``<data_dir>/argos-packages`` (see
:mod:`translations.argos_packages`); nothing is downloaded. A running server picks up a
package installed or removed here on its next translation. Problems (a missing file, not a
zip, bad metadata, no such package) are one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from pathlib import Path

from bot.config import AppConfig
from translations.argos_packages import PackageInfo

#: What a broken archive or an unwritable data directory raises.
_FAILURES = (ValueError, OSError, zipfile.BadZipFile, EOFError)
#: The temporary directory ``install_package`` unpacks into, as its messages name it.
_STAGING = re.compile(r"\S*/\.install-[^/\s]+/")


def cmd_translations(args: argparse.Namespace, config: AppConfig) -> int:
    """Install, list or remove machine translation packages."""
    from translations.argos_backend import ArgosTranslator
    from translations.argos_packages import install_package, list_packages, remove_package

    command = f"yorisoi translations {args.action}"
    try:
        translator = ArgosTranslator.from_data_dir(config.data_path)  # also keeps argostranslate in data_dir
        packages_dir = translator.packages_dir
        if args.action == "install":
            before = {(p.from_code, p.to_code): p for p in list_packages(packages_dir)}
            info = install_package(args.path, packages_dir)
            replaced = before.get((info.from_code, info.to_code))
            note = f" (replaced version {replaced.version})" if replaced is not None else ""
            print(f"installed {_pair(info)} version {info.version}{note} in {info.path}")
            return 0
        if args.action == "remove":
            removed = remove_package(packages_dir, args.source, args.target)
            if not removed:
                print(f"{command}: no package translates {args.source} → {args.target} in {packages_dir}",
                      file=sys.stderr)
                return 2
            for package in removed:
                print(f"removed {_pair(package)} version {package.version} ({package.path})")
            return 0
        _print_list(list_packages(packages_dir), translator.available_pairs(), packages_dir, args.json)
        return 0
    except _FAILURES as error:
        message = str(error)
        if args.action == "install":  # name the archive, not the (already deleted) staging directory
            message = _STAGING.sub(lambda _: f"{args.path}: ", message)
        print(f"{command}: {message}", file=sys.stderr)
        return 2


def _print_list(packages: list[PackageInfo], pairs: frozenset[tuple[str, str]], packages_dir: Path,
                as_json: bool) -> None:
    direct = {(package.source, package.target) for package in packages}
    if as_json:
        print(json.dumps({
            "packages_dir": str(packages_dir),
            "packages": [package.as_dict() for package in packages],
            "pairs": [{"source": s, "target": t, "pivot": (s, t) not in direct} for s, t in sorted(pairs)],
        }, ensure_ascii=False, indent=2))
        return
    if not packages:
        print(f"no translation packages installed (in {packages_dir})")
        print("install one with: yorisoi translations install PATH.argosmodel")
        return
    rows = [("from", "to", "version", "package dir")]
    rows += [(_code(p.source, p.from_code), _code(p.target, p.to_code), p.version, str(p.path)) for p in packages]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3])
    listed = [f"{s} → {t}" + ("" if (s, t) in direct else " (via en)") for s, t in sorted(pairs)]
    print(f"\n{len(listed)} pair(s) available: " + ", ".join(listed))


def _pair(package: PackageInfo) -> str:
    return f"{_code(package.source, package.from_code)} → {_code(package.target, package.to_code)}"


def _code(yorisoi: str, argos: str) -> str:
    """``zh-Hans (zh)`` when Argos spells the language differently, else the code."""
    return yorisoi if yorisoi == argos else f"{yorisoi} ({argos})"


def register_translation_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``translations`` to the ``yorisoi`` parser."""
    translations = commands.add_parser(
        "translations", help="install, list or remove machine translation (Argos Translate) packages")
    actions = translations.add_subparsers(dest="action", required=True)
    install = actions.add_parser("install", help="install an .argosmodel file (replaces the same pair)")
    install.add_argument("path", type=Path, help="the .argosmodel file")
    listing = actions.add_parser("list", help="installed packages and the pairs they serve (pivots included)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    remove = actions.add_parser("remove", help="remove the package translating FROM → TO")
    remove.add_argument("source", metavar="FROM", help="source language (Yorisoi or Argos code)")
    remove.add_argument("target", metavar="TO", help="target language (Yorisoi or Argos code)")
    translations.set_defaults(func=cmd_translations)
