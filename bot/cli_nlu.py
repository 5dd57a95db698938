"""``yorisoi train``, ``yorisoi eval`` and ``yorisoi nlu import|export``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bot.config import AppConfig


def cmd_train(_args: argparse.Namespace, config: AppConfig) -> int:
    """Train the NLU for every bot (the KB's questions included)."""
    from bot.topics import TopicContract
    from bot.training import model_dir, train_nlu
    from knowledge.base import CuratedKnowledgeBase

    started = time.perf_counter()
    report = train_nlu(config, CuratedKnowledgeBase.load(), TopicContract.load())
    print(report)
    print(f"trained in {time.perf_counter() - started:.1f} s -> {model_dir(config)}")
    return 0


def cmd_eval(args: argparse.Namespace, config: AppConfig) -> int:
    """Predict every line of a JSONL file through the live engine path and report."""
    from bot.evaluation import run_eval

    if not args.file.exists():
        print(f"yorisoi eval: {args.file} does not exist", file=sys.stderr)
        return 2
    try:
        text = run_eval(config, args.file, args.out, args.report)
    except ValueError as error:
        print(f"yorisoi eval: {error}", file=sys.stderr)
        return 2
    print(text)
    return 0


def cmd_nlu(args: argparse.Namespace, config: AppConfig) -> int:
    """Convert training data to and from Rasa's nlu.yml."""
    from bot.training import NLU_DATA_DIR
    from knowledge.base import CuratedKnowledgeBase
    from nlu.training_data import export_bot_to_rasa, import_rasa_project

    if args.action == "import":
        target = NLU_DATA_DIR / args.bot / "nlu.yml"
        imported = import_rasa_project(args.path, target)
        print(f"imported {sum(len(v) for v in imported.intents.values())} examples of "
              f"{len(imported.intents)} intents into {target}")
        return 0
    if args.bot not in config.bots:
        print(f"yorisoi nlu export: unknown bot {args.bot!r}", file=sys.stderr)
        return 2
    kb = CuratedKnowledgeBase.load()
    exported = export_bot_to_rasa(NLU_DATA_DIR, args.bot, args.path, kb.examples(args.bot))
    print(f"exported {len(exported.intents)} intents to {args.path}")
    return 0


def register_nlu_commands(commands: argparse._SubParsersAction) -> None:
    """Add the NLU sub-commands to the ``yorisoi`` parser."""
    train = commands.add_parser("train", help="train the NLU for every bot")
    train.set_defaults(func=cmd_train)

    evaluate = commands.add_parser("eval", help="evaluate on a JSONL file of {bot, id, lang, text}")
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--out", type=Path, required=True, help="predictions (JSONL)")
    evaluate.add_argument("--report", type=Path, default=None, help="Markdown report")
    evaluate.set_defaults(func=cmd_eval)

    nlu = commands.add_parser("nlu", help="import or export Rasa nlu.yml training data")
    nlu.add_argument("action", choices=["import", "export"])
    nlu.add_argument("path", type=Path, help="Rasa project/nlu.yml to import, or nlu.yml to write")
    nlu.add_argument("--bot", required=True, help="bot whose data is imported into or exported")
    nlu.set_defaults(func=cmd_nlu)
