"""The `inbox` command: parsing, clear errors, and migrate + demo on a fresh database."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import func, select

from inbox import migrations
from inbox.cli import main as cli
from inbox.cli.dev import dev_ports, split_address, temporal_command
from inbox.contracts import SEARCH_ATTRIBUTES
from inbox.db import engine_for, make_session_factory
from inbox.models import Conversation, PendingSignal, User
from inbox.settings import Settings
from tests.databases import fresh_database


@pytest.mark.parametrize(
    ("argv", "handler"),
    [
        (["dev"], cli.cmd_dev),
        (["web"], cli.cmd_web),
        (["worker"], cli.cmd_worker),
        (["migrate"], cli.cmd_migrate),
        (["demo"], cli.cmd_demo),
        (["api-key", "create", "--name", "crm"], cli.cmd_api_key_create),
    ],
)
def test_each_subcommand_has_its_handler(argv: list[str], handler: object) -> None:
    assert cli.build_parser().parse_args(argv).handler is handler


def test_options() -> None:
    parser = cli.build_parser()
    assert parser.parse_args(["dev"]).no_demo is False
    assert parser.parse_args(["dev", "--no-demo"]).no_demo is True
    assert parser.parse_args(["demo", "--no-workflows"]).no_workflows is True
    assert parser.parse_args(["--log-level", "debug", "web"]).log_level == "debug"


@pytest.mark.parametrize("argv", [[], ["nonsense"], ["dev", "--unknown"], ["api-key"]])
def test_bad_arguments_exit_2_with_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert "usage: inbox" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("variable", "name"),
    [
        ("INBOX_TEMPORAL_ADDRESS", "Temporal server"),
        ("INBOX_TEMPORAL_UI_PORT", "Temporal UI"),
        ("INBOX_WEB_PORT", "web"),
    ],
)
def test_taken_port_is_named_before_anything_starts(
    dev_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    name: str,
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        value = f"127.0.0.1:{port}" if variable == "INBOX_TEMPORAL_ADDRESS" else str(port)
        monkeypatch.setenv(variable, value)
        from inbox.settings import get_settings

        get_settings.cache_clear()
        assert cli.main(["dev"]) == 1

    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 ({name}) is already in use" in err
    assert variable in err
    # Nothing was started or written: no data folder, no database.
    assert not Path(dev_env["INBOX_DATA_DIR"]).exists()


def test_bad_setting_is_reported_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from inbox.settings import get_settings

    monkeypatch.setenv("INBOX_WEB_PORT", "eighty")
    get_settings.cache_clear()
    try:
        assert cli.main(["migrate"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "invalid configuration" in err
    assert "web_port" in err


def test_temporal_command_persists_and_registers_search_attributes(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, temporal_address="127.0.0.1:7999", temporal_ui_port=8999)
    command = temporal_command(Path("/bin/temporal"), settings)
    assert command[:3] == ["/bin/temporal", "server", "start-dev"]
    joined = " ".join(command)
    assert f"--db-filename {tmp_path.resolve() / 'temporal.db'}" in joined
    assert "--sqlite-pragma journal_mode=wal" in joined
    assert "--sqlite-pragma synchronous=normal" in joined
    assert "--ip 127.0.0.1 --port 7999 --ui-port 8999" in joined
    for attribute, kind in SEARCH_ATTRIBUTES.items():
        assert f"--search-attribute {attribute}={kind}" in joined


def test_ports_come_from_settings() -> None:
    settings = Settings(temporal_address="127.0.0.1:7001", temporal_ui_port=7002, web_port=7003)
    assert [(p.name, p.port) for p in dev_ports(settings)] == [
        ("Temporal server", 7001),
        ("Temporal UI", 7002),
        ("web", 7003),
    ]


@pytest.mark.parametrize("address", ["7233", "localhost:", ":7233", "host:port"])
def test_malformed_temporal_address_is_named(address: str) -> None:
    with pytest.raises(ValueError, match="INBOX_TEMPORAL_ADDRESS must look like host:port"):
        split_address(address)


def test_migrate_then_demo_on_a_fresh_database(
    dev_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from inbox.settings import get_settings

    with fresh_database(tmp_path) as url:
        monkeypatch.setenv("INBOX_DATABASE_URL", url)
        get_settings.cache_clear()

        assert cli.main(["migrate"]) == 0
        assert migrations.current_revision(url) == migrations.head_revision()
        assert cli.main(["demo"]) == 0
        out = capsys.readouterr().out
        assert "Loaded demo data" in out
        assert "admin@demo.test" in out

        sessions = make_session_factory(engine_for(url))
        with sessions() as session:
            counts = _counts(session)
        assert counts["users"] == 4
        assert counts["conversations"] > 0
        assert counts["signals"] == counts["conversations"]

        # A second load refuses politely and changes nothing.
        assert cli.main(["demo"]) == 1
        assert "already has data" in capsys.readouterr().err
        with sessions() as session:
            assert _counts(session) == counts

        # Migrating again is a no-op that keeps the data.
        assert cli.main(["migrate"]) == 0
        with sessions() as session:
            assert _counts(session) == counts


def test_api_key_create_prints_a_key_once(
    dev_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from inbox.services.api_keys import authenticate
    from inbox.settings import get_settings

    with fresh_database(tmp_path) as url:
        monkeypatch.setenv("INBOX_DATABASE_URL", url)
        get_settings.cache_clear()
        assert cli.main(["migrate"]) == 0
        capsys.readouterr()

        assert cli.main(["api-key", "create", "--name", "crm"]) == 0
        key = capsys.readouterr().out.strip().splitlines()[-1]
        sessions = make_session_factory(engine_for(url))
        with sessions() as session:
            row = authenticate(session, key)
            assert row is not None
            assert row.name == "crm"


def _counts(session) -> dict[str, int]:
    def count(model: type) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    return {
        "users": count(User),
        "conversations": count(Conversation),
        "signals": count(PendingSignal),
    }
