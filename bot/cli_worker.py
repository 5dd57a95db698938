"""``yorisoi worker``: Dramatiq worker processes for :mod:`bot.tasks`, plus the scheduler that feeds them."""

from __future__ import annotations

import argparse
import os
import sys

from bot.config import AppConfig

#: What ``yorisoi worker`` says when no broker is configured.
NO_BROKER = (
    "yorisoi worker: YORISOI_BROKER_URL is not set. Set it to the broker the servers use, e.g.\n"
    "  YORISOI_BROKER_URL=redis://127.0.0.1:6379/0 yorisoi worker\n"
    "  YORISOI_BROKER_URL=amqp://guest:guest@127.0.0.1:5672/ yorisoi worker\n"
    "Without a broker no worker is needed: `yorisoi run` performs effects in-process."
)


def cmd_worker(args: argparse.Namespace, config: AppConfig) -> int:
    """Migrate the database, then run Dramatiq's worker processes and the scheduler until stopped."""
    from bot import tasks

    url = tasks.broker_url()
    if url is None:
        print(NO_BROKER, file=sys.stderr)
        return 2
    try:
        tasks.broker_kind(url)
    except ValueError as error:
        print(f"yorisoi worker: {error}", file=sys.stderr)
        return 2
    if args.config is not None:  # the worker processes load the configuration themselves
        os.environ["YORISOI_CONFIG"] = str(args.config.resolve())
    if not args.no_migrate:
        from bot.storage.database import create_database_engine, upgrade_database

        database = create_database_engine(config.resolved_database_url)
        try:
            upgrade_database(database)
        finally:
            database.dispose()  # before the worker processes are forked
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    argv = ["bot.tasks:setup_worker_broker", "--processes", str(args.processes), "--threads", str(args.threads),
            "--skip-logging"]  # keep our logging (with the privacy filter)
    if not args.no_scheduler:
        argv += ["--fork-function", "bot.tasks:schedule_forever"]
    print(f"yorisoi worker: {args.processes} process(es) × {args.threads} thread(s) on queue "
          f"{tasks.queue_name()!r} ({tasks.broker_kind(url)})", flush=True)
    return int(dramatiq_main(make_argument_parser().parse_args(argv)) or 0)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def register_worker_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``worker`` to the ``yorisoi`` parser."""
    worker = commands.add_parser("worker", help="perform effects and housekeeping from the task broker "
                                                "(needs YORISOI_BROKER_URL)")
    worker.add_argument("--processes", type=_positive, default=1, help="worker processes (default: 1)")
    worker.add_argument("--threads", type=_positive, default=8, help="threads per worker process (default: 8)")
    worker.add_argument("--no-scheduler", action="store_true",
                        help="do not enqueue the periodic housekeeping and effect runs from this worker")
    worker.add_argument("--no-migrate", action="store_true", help="do not apply migrations at start-up")
    worker.set_defaults(func=cmd_worker)
