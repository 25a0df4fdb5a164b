"""``inbox user create``: add a sign-in account (the first admin, typically)."""

from __future__ import annotations

import argparse
import getpass
import sys

from inbox.models import Role


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``inbox user create --email --name --role [--password]``."""
    user = subparsers.add_parser("user", help="manage sign-in accounts")
    commands = user.add_subparsers(dest="user_command", required=True)
    create = commands.add_parser("create", help="create a user (asks for the password if omitted)")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.AGENT.value)
    create.add_argument(
        "--password", help="the password (omit it to be asked, which keeps it out of shell history)"
    )
    create.set_defaults(handler=cmd_user_create)


def _ask_password() -> str:
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise ValueError("password: the two passwords differ")
    return first


def cmd_user_create(args: argparse.Namespace) -> int:
    """Create the user; print a clear error (exit 2) and write nothing on bad input."""
    from inbox.auth import create_user
    from inbox.db import engine_for, make_session_factory
    from inbox.settings import get_settings

    try:
        password = args.password if args.password is not None else _ask_password()
        sessions = make_session_factory(engine_for(get_settings().database_url))
        with sessions() as session:
            user = create_user(
                session, email=args.email, name=args.name, role=args.role, password=password
            )
            session.commit()
            sys.stdout.write(f"Created {user.role} {user.email} (id {user.id})\n")
    except ValueError as exc:
        sys.stderr.write(f"inbox user create: {exc}\n")
        return 2
    return 0
