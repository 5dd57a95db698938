"""``yorisoi kb validate|report|export|rank``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.config import AppConfig


def cmd_kb(args: argparse.Namespace, config: AppConfig) -> int:
    """Knowledge-base tools for city staff."""
    from bot import kb_tools

    if args.action == "validate":
        problems = kb_tools.validate_kb(config)
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s)" if problems else "knowledge base OK")
        return 1 if problems else 0
    if args.action == "report":
        table = kb_tools.coverage(config)
        languages = kb_tools.CURATED_LANGUAGES
        print("| bot | " + " | ".join(languages) + " |")
        print("|---|" + "---|" * len(languages))
        for bot, row in table.items():
            print(f"| {bot} | " + " | ".join(f"{row[lang][0]}/{row[lang][1]}" for lang in languages) + " |")
        return 0
    if args.action == "export":
        print(json.dumps(kb_tools.export_summary(), ensure_ascii=False, indent=2 if not args.json else None))
        return 0
    return _rank(args, config)


def _rank(args: argparse.Namespace, config: AppConfig) -> int:
    from knowledge.ranking import rank_faq

    if args.faq is None or args.queries is None or args.out is None:
        print("yorisoi kb rank: --faq, --queries and --out are required", file=sys.stderr)
        return 2
    try:
        rank_faq(args.faq, args.queries, args.out, k=args.k, cache_dir=config.data_path / "cache" / "kb_rank")
    except (ValueError, OSError) as error:
        print(f"yorisoi kb rank: {error}", file=sys.stderr)
        return 2
    print(f"rankings written to {args.out}")
    return 0


def register_kb_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``kb`` to the ``yorisoi`` parser."""
    kb = commands.add_parser("kb", help="validate, report, export the knowledge base; rank an FAQ collection")
    kb.add_argument("action", choices=["validate", "report", "export", "rank"])
    kb.add_argument("--json", action="store_true", help="export: compact JSON")
    kb.add_argument("--faq", type=Path, help="rank: FAQ lines {faq_id, question, answer}")
    kb.add_argument("--queries", type=Path, help="rank: query lines {query_id, query}")
    kb.add_argument("--out", type=Path, help="rank: output lines {query_id, ranked}")
    kb.add_argument("--k", type=int, default=10, help="rank: how many FAQ ids per query")
    kb.set_defaults(func=cmd_kb)
