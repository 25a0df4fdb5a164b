"""The ``inbox`` command: ``dev``, ``web``, ``worker``, ``migrate``, ``demo``, ``temporal-setup``,
``api-key``.

``simulate``, ``user`` and ``rules`` come from their own modules of this package, each with
``register(subparsers)``: every parser sets ``handler=`` to a function taking the parsed
``argparse.Namespace`` and returning an exit code (``None`` means 0).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from inbox import logs
from inbox.cli import rules, simulate, users
from inbox.settings import Settings, get_settings

log = logging.getLogger(__name__)


def _settings() -> Settings:
    return get_settings()


def _log_format() -> str:
    """``INBOX_LOG_FORMAT`` (validated with the other settings by the command that runs)."""
    return logs.JSON if os.environ.get("INBOX_LOG_FORMAT", "").lower() == logs.JSON else logs.TEXT


def cmd_dev(args: argparse.Namespace) -> int:
    """Run everything embedded: Temporal dev server, migrations, demo data, worker and web."""
    from inbox.cli.dev import DevServerError, run_dev

    try:
        return run_dev(_settings(), demo=not args.no_demo, announce=_out)
    except DevServerError as exc:
        _err(f"inbox dev: {exc}")
        return 1


def cmd_web(args: argparse.Namespace) -> int:
    """Serve the web inbox, the JSON API, the webhooks and the simulator with uvicorn."""
    import uvicorn

    settings = _settings()
    if settings.web_workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from inbox.metrics import prepare_multiprocess_dir

        # Several processes: each writes its metrics there, any one answers /metrics for all.
        prepare_multiprocess_dir(settings.data_dir / "prometheus-web")
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.web_host,
        port=settings.web_port,
        workers=settings.web_workers,
        log_level=args.log_level,
        # JSON logs: each uvicorn process sets them up (the default config logs plain text).
        log_config=logs.uvicorn_config(args.log_level, logs.JSON)
        if _log_format() == logs.JSON
        else uvicorn.config.LOGGING_CONFIG,
        # Live pages hold server-sent-event streams open; do not wait for them forever.
        timeout_graceful_shutdown=5,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the Temporal worker (workflows and activities) until Ctrl-C or SIGTERM; the stop is
    bounded, and one that overruns exits with code 1 (inbox/shutdown.py)."""
    from inbox.cli.worker import run_worker, stop_bound
    from inbox.shutdown import run_until_signalled

    settings = _settings()
    # uvloop (as uvicorn uses for the web): the worker's event loop hands every workflow
    # activation and activity between the SDK's core threads and Python.
    return run_until_signalled(
        lambda stop: run_worker(settings, stop), bound=stop_bound(settings), what="worker"
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database schema up to date (Alembic upgrade head)."""
    from inbox import migrations

    settings = _settings()
    migrations.upgrade(settings.database_url)
    _out(f"database is at revision {migrations.current_revision(settings.database_url)}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Load demo data into an empty database (migrating it first)."""
    from inbox import migrations
    from inbox.cli.demo import DemoRefused, load_demo
    from inbox.db import engine_for, make_session_factory, session_scope

    settings = _settings()
    migrations.upgrade(settings.database_url)
    sessions = make_session_factory(engine_for(settings.database_url))
    try:
        with session_scope(sessions) as session:
            summary = load_demo(session, start_workflows=not args.no_workflows, settings=settings)
    except DemoRefused as exc:
        _err(f"inbox demo: {exc}. Nothing was changed.")
        return 1
    _out(
        f"Loaded demo data: {summary.conversations} conversations, {summary.messages} messages, "
        f"{summary.contacts} contacts.\nChannels: {'; '.join(summary.channels)}\n"
        f"Users (password {summary.password}): {', '.join(summary.users)}"
    )
    if summary.signals:
        _out("Their workflows start when the worker or web process reaches Temporal.")
    return 0


def cmd_temporal_setup(args: argparse.Namespace) -> int:
    """Register the namespace (if missing) and the conversation search attributes on the
    Temporal cluster."""
    from inbox.cli.temporal_setup import setup_temporal

    settings = _settings()
    try:
        result = asyncio.run(setup_temporal(settings, timeout=args.timeout))
    except ValueError as exc:
        _err(f"inbox temporal-setup: {exc}")
        return 1
    except Exception as exc:  # unreachable cluster after the timeout: say so plainly
        _err(f"inbox temporal-setup: cannot reach Temporal at {settings.temporal_address}: {exc}")
        return 1
    if result.namespace_created:
        _out(f"namespace registered: {settings.temporal_namespace}")
    added = result.attributes_added
    _out(
        f"search attributes added: {', '.join(added)}"
        if added
        else "search attributes already registered"
    )
    return 0


def cmd_api_key_create(args: argparse.Namespace) -> int:
    """Create a JSON API key and print it (it is shown only this once)."""
    from inbox.db import engine_for, make_session_factory, session_scope
    from inbox.models import ApiKeyAccess
    from inbox.services.admin import api_keys
    from inbox.services.admin.errors import SettingsError
    from inbox.services.admin.inboxes import inbox_ids_by_name

    sessions = make_session_factory(engine_for(_settings().database_url))
    with session_scope(sessions) as session:
        try:
            row, plain = api_keys.create(
                session,
                name=args.name,
                access=ApiKeyAccess.READ if args.read_only else ApiKeyAccess.READ_WRITE,
                inbox_ids=inbox_ids_by_name(session, args.inbox) if args.inbox else None,
            )
        except SettingsError as exc:
            _out(f"cannot create the key: {exc}")
            return 1
        key_id = row.id
    _out(f"API key {key_id} ({args.name}); keep it now, it is not shown again:\n{plain}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand, extensions included."""
    parser = argparse.ArgumentParser(
        prog="inbox",
        description="A shared SMS inbox whose conversations are durable Temporal workflows. "
        "Configuration comes from INBOX_* environment variables (see README.md).",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="how much to log (default: info)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    dev = subparsers.add_parser(
        "dev",
        help="run everything embedded (Temporal dev server, SQLite, simulator, demo data)",
        description="Start the Temporal dev server, migrate, load demo data into an empty "
        "database, and run worker and web until Ctrl-C.",
    )
    dev.add_argument("--no-demo", action="store_true", help="do not load demo data")
    dev.set_defaults(handler=cmd_dev)

    subparsers.add_parser("web", help="serve the web inbox, API and webhooks").set_defaults(
        handler=cmd_web
    )
    subparsers.add_parser("worker", help="run the Temporal worker").set_defaults(handler=cmd_worker)
    subparsers.add_parser("migrate", help="upgrade the database schema").set_defaults(
        handler=cmd_migrate
    )
    demo = subparsers.add_parser("demo", help="load demo data into an empty database")
    demo.add_argument(
        "--no-workflows",
        action="store_true",
        help="do not queue signals that start the demo conversations' workflows",
    )
    demo.set_defaults(handler=cmd_demo)

    temporal_setup = subparsers.add_parser(
        "temporal-setup",
        help="register the namespace and search attributes on a Temporal cluster (production)",
    )
    temporal_setup.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for the cluster"
    )
    temporal_setup.set_defaults(handler=cmd_temporal_setup)

    api_key = subparsers.add_parser("api-key", help="manage JSON API keys")
    api_key_commands = api_key.add_subparsers(dest="api_key_command", required=True)
    create = api_key_commands.add_parser("create", help="create a key and print it once")
    create.add_argument("--name", required=True, help="what the key is for, e.g. 'crm'")
    create.add_argument("--read-only", action="store_true", help="a key that can only read")
    create.add_argument(
        "--inbox",
        action="append",
        metavar="NAME",
        help="limit the key to this inbox (repeat for more; default: every inbox)",
    )
    create.set_defaults(handler=cmd_api_key_create)

    for register in (simulate.register, users.register, rules.register):
        register(subparsers)
    return parser


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``inbox`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.configure(args.log_level, _log_format())
    if args.log_level != "debug":
        # Alembic narrates every plugin and step at INFO; we log the outcome ourselves.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    handler = getattr(args, "handler", None) or getattr(args, "func", None)
    if handler is None:
        parser.error(f"{args.command}: no action given")
    try:
        code = handler(args)
    except ValidationError as exc:
        # A bad INBOX_* variable: say which, without a traceback.
        _err(f"inbox: invalid configuration:\n{exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    return int(code or 0)
