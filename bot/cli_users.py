"""``yorisoi users create USERNAME --role ROLE`` and ``yorisoi users list``: staff-console accounts.

The password is read from the environment variable named by ``--password-env`` or typed at a
prompt (twice), never passed on the command line, where it would land in the shell history.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.config import AppConfig
from bot.enums import ACCOUNT_ROLES, Role

if TYPE_CHECKING:
    from bot.desk.accounts import Accounts  # imported lazily: argon2 is not needed by other commands

#: Demo accounts ``yorisoi run`` creates when ``YORISOI_ADMIN_PASSWORD`` is set (see the README).
DEMO_PASSWORD_ENV = "YORISOI_ADMIN_PASSWORD"
#: ``--role`` choices, in the order the help lists them.
ROLE_CHOICES = tuple(role.value for role in Role if role in ACCOUNT_ROLES)


def _accounts(config: AppConfig) -> Accounts:
    from bot.desk.accounts import Accounts
    from bot.storage.database import create_database_engine, session_factory, upgrade_database

    engine = create_database_engine(config.resolved_database_url)
    upgrade_database(engine)
    return Accounts(session_factory(engine), languages=config.languages)


def cmd_users(args: argparse.Namespace, config: AppConfig) -> int:
    """Create or list console users."""
    from bot.desk.accounts import AccountError

    accounts = _accounts(config)
    if args.action == "list":
        for user in accounts.users():
            interprets = f" interprets {','.join(user.interprets)}" if user.interprets else ""
            print(f"{user.username:<20} {user.role:<12} {user.language:<8} {user.display_name}{interprets}")
        return 0
    if args.password_env:
        password = os.environ.get(args.password_env, "")
        if not password:
            print(f"yorisoi users create: the environment variable {args.password_env} is empty", file=sys.stderr)
            return 2
    else:
        password = getpass.getpass("password: ")
        if password != getpass.getpass("again: "):
            print("yorisoi users create: the passwords differ", file=sys.stderr)
            return 2
    languages = tuple(code.strip() for code in (args.interprets or "").split(",") if code.strip())
    try:
        user = accounts.create_user(args.username, password, Role(args.role), display_name=args.display_name,
                                    language=args.language, interprets=languages, replace=args.replace)
    except AccountError as error:
        print(f"yorisoi users create: {error}", file=sys.stderr)
        return 2
    print(f"created {user.role} {user.username!r} ({user.display_name})")
    return 0


def ensure_demo_users(accounts: Accounts, environ: Mapping[str, str] = os.environ) -> list[str]:
    """With ``YORISOI_ADMIN_PASSWORD`` set: the demo admin ``admin`` and interpreter ``interpreter`` (created once)."""
    password = environ.get(DEMO_PASSWORD_ENV, "")
    if not password:
        return []
    from bot.desk.accounts import AccountError

    def create(username: str, role: Role, display_name: str, interprets: tuple[str, ...] = ()) -> bool:
        try:
            accounts.create_user(username, password, role, display_name=display_name, language="ja",
                                 interprets=interprets)
            return True
        except AccountError:
            # Several servers starting at once: another one created it a moment ago.
            if username in {user.username for user in accounts.users()}:
                return False
            raise

    existing = {user.username for user in accounts.users()}
    created = []
    if "admin" not in existing and create("admin", Role.ADMIN, "管理者 (admin)"):
        created.append("admin")
    if "interpreter" not in existing and create("interpreter", Role.INTERPRETER, "通訳 (interpreter)",
                                                ("en", "vi", "zh-Hans", "pt", "ne")):
        created.append("interpreter")
    return created


def register_user_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``users`` to the ``yorisoi`` parser."""
    users = commands.add_parser("users", help="staff-console accounts (staff, interpreter, admin)")
    actions = users.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create an account (the first admin, staff, interpreters)")
    create.add_argument("username")
    create.add_argument("--role", choices=ROLE_CHOICES, required=True)
    create.add_argument("--display-name", help="the name residents and colleagues see (default: the username)")
    create.add_argument("--language", default="ja", help="the language the user reads and writes (default ja)")
    create.add_argument("--interprets", help="interpreters: comma-separated languages, e.g. vi,en")
    create.add_argument("--password-env", metavar="VAR", help="read the password from this environment variable")
    create.add_argument("--replace", action="store_true", help="reset an existing account (ends its sessions)")
    actions.add_parser("list", help="active accounts")
    users.set_defaults(func=cmd_users)
