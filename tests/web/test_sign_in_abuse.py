"""Sign-in abuse: failures are counted per account and per client address, with a growing
delay and then a temporary lock; unknown e-mails cost the same Argon2 work as known ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from inbox import passwords
from inbox.models import SignInThrottle, utcnow
from inbox.services import sign_in
from tests.web.conftest import PASSWORD, csrf_of


def _attempt(client, email: str, password: str):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


def _age_failures(session, seconds: float) -> None:
    """Move every recorded failure ``seconds`` into the past (time passing, without waiting)."""
    for row in session.scalars(select(SignInThrottle)):
        row.last_failure_at -= timedelta(seconds=seconds)
        row.first_failure_at -= timedelta(seconds=seconds)
    session.commit()


def test_failures_bring_a_growing_delay_then_a_lock_with_a_clear_message(client, world, session):
    for _ in range(sign_in.ACCOUNT.free_failures):
        assert _attempt(client, "agent@example.com", "wrong").status_code == 401
    assert _attempt(client, "agent@example.com", "wrong").status_code == 401  # first paid one
    waits = []
    while True:
        refused = _attempt(client, "agent@example.com", PASSWORD)  # even the right password
        assert refused.status_code == 429, refused.text
        if "locked" in refused.text:
            break
        assert "before trying again" in refused.text
        waits.append(int(refused.headers["Retry-After"]))
        _age_failures(session, sign_in.ACCOUNT.max_delay.total_seconds() + 1)  # wait it out
        assert _attempt(client, "agent@example.com", "wrong").status_code == 401
    assert waits == [1, 2, 4, 8, 16, 32]  # growing, until the lock
    assert "locked for 15 more minutes" in refused.text
    assert "ask an admin for a set-password link" in refused.text
    assert int(refused.headers["Retry-After"]) > 14 * 60


def test_the_lock_ends_and_a_good_password_clears_the_account(client, world, session):
    now = utcnow()
    session.add(
        SignInThrottle(
            key=sign_in.account_key("agent@example.com"),
            failures=sign_in.ACCOUNT.lock_after,
            first_failure_at=now,
            last_failure_at=now,
            locked_until=now + timedelta(minutes=15),
        )
    )
    session.commit()
    assert _attempt(client, "agent@example.com", PASSWORD).status_code == 429
    session.execute(
        update(SignInThrottle).values(
            locked_until=now - timedelta(seconds=1), last_failure_at=now - timedelta(minutes=15)
        )
    )
    session.commit()
    assert _attempt(client, "agent@example.com", PASSWORD).status_code == 303
    assert session.get(SignInThrottle, sign_in.account_key("agent@example.com")) is None


def test_an_address_guessing_many_accounts_is_slowed_too(client, world):
    for n in range(sign_in.ADDRESS.free_failures + 1):
        assert _attempt(client, f"guess{n}@example.com", "wrong").status_code == 401
    refused = _attempt(client, "agent@example.com", PASSWORD)
    assert refused.status_code == 429 and "your network address" in refused.text


def test_unknown_and_known_emails_answer_alike(client, world):
    unknown = _attempt(client, "nobody@example.com", "wrong")
    known = _attempt(client, "agent@example.com", "wrong")
    assert unknown.status_code == known.status_code == 401
    assert sign_in_error(unknown.text) == sign_in_error(known.text)


def sign_in_error(html: str) -> str:
    start = html.index('class="form-error"')
    return html[start : html.index("</div>", start)]


@pytest.mark.parametrize("email", ["nobody@example.com", "agent@example.com", "noauth@example.com"])
def test_every_sign_in_costs_one_argon2_check(email, client, world, factory, monkeypatch):
    factory.user(email="noauth@example.com", password_hash=None)  # invited, no password yet
    checks = []
    real = passwords._hasher

    class Counting:
        def verify(self, hash_: str, plain: str) -> bool:
            checks.append(hash_)
            return real.verify(hash_, plain)

        def __getattr__(self, name: str):
            return getattr(real, name)

    monkeypatch.setattr(passwords, "_hasher", Counting())
    assert _attempt(client, email, "wrong").status_code == 401
    assert len(checks) == 1  # an unknown e-mail is checked against a dummy hash, not skipped
