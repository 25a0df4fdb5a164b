"""``inbox user create``: makes a user who can sign in; bad input writes nothing."""

from __future__ import annotations

import argparse

import pytest
from sqlalchemy import select

from inbox.cli import users as users_cli
from inbox.models import User
from inbox.passwords import verify_password


def _run(monkeypatch, database_url: str, *argv: str) -> int:
    monkeypatch.setenv("INBOX_DATABASE_URL", database_url)
    from inbox.settings import get_settings

    get_settings.cache_clear()
    parser = argparse.ArgumentParser()
    users_cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    finally:
        get_settings.cache_clear()


def test_create_admin(monkeypatch, database_url, engine, sessions, capsys):
    code = _run(
        monkeypatch,
        database_url,
        "user",
        "create",
        "--email",
        "Boss@Example.com",
        "--name",
        "Bo Boss",
        "--role",
        "admin",
        "--password",
        "s3cret-pass",
    )
    assert code == 0
    assert "Created admin boss@example.com" in capsys.readouterr().out
    with sessions() as session:
        user = session.scalar(select(User).where(User.email == "boss@example.com"))
        assert user is not None and user.role == "admin"
        assert verify_password(user.password_hash, "s3cret-pass")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--email", "nope", "--name", "X", "--password", "longenough"], "email"),
        (["--email", "a@b.c", "--name", " ", "--password", "longenough"], "name"),
        (["--email", "a@b.c", "--name", "A", "--password", "short"], "password"),
    ],
)
def test_bad_input_is_refused(monkeypatch, database_url, engine, sessions, capsys, argv, message):
    assert _run(monkeypatch, database_url, "user", "create", *argv) == 2
    assert message in capsys.readouterr().err
    with sessions() as session:
        assert session.scalar(select(User)) is None


def test_password_prompt_must_match(monkeypatch, database_url, engine, sessions, capsys):
    answers = iter(["first-password", "second-password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert _run(monkeypatch, database_url, "user", "create", "--email", "a@b.c", "--name", "A") == 2
    assert "differ" in capsys.readouterr().err
