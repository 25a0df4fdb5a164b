"""Sign-in abuse: failed attempts counted per account and per client address, in the app
database so every web process sees one count.

After a few free failures each further attempt must wait a growing delay (1 s, 2 s, 4 s …);
past the lock threshold the key is locked for a while. A refused attempt is answered before
the password is checked, with a message that says how long to wait. Keys are made from what
was typed, whether or not an account has that e-mail, so the answers enumerate nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from inbox.models import SignInThrottle, utcnow


@dataclass(frozen=True)
class Policy:
    """When a key's failures start to cost a delay, and when they lock it."""

    name: str  # what the refusal message calls it
    free_failures: int
    lock_after: int
    lock_for: timedelta
    # Failures this far apart are unrelated: the count starts again.
    forget_after: timedelta = timedelta(minutes=15)
    max_delay: timedelta = timedelta(minutes=1)

    def delay(self, failures: int) -> timedelta:
        """How long after the last failure the next attempt must wait."""
        extra = failures - self.free_failures
        if extra <= 0:
            return timedelta(0)
        return min(timedelta(seconds=2 ** (extra - 1)), self.max_delay)


# One person mistyping gets three free tries; a guesser gets ten in about a minute, then
# waits 15 minutes. An address (an office behind one NAT) gets more room before it is slowed.
ACCOUNT = Policy("this account", free_failures=3, lock_after=10, lock_for=timedelta(minutes=15))
ADDRESS = Policy(
    "your network address", free_failures=10, lock_after=30, lock_for=timedelta(minutes=15)
)


@dataclass(frozen=True)
class Refusal:
    """Why an attempt is refused now, and in how many seconds to try again."""

    message: str
    retry_after: int


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()[:320]}"


def address_key(address: str) -> str:
    return f"address:{address[:64]}"


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def check(
    session: Session, keys: list[tuple[str, Policy]], *, now: datetime | None = None
) -> Refusal | None:
    """A refusal if any key is locked or still in its delay; None to go ahead."""
    now = now or utcnow()
    rows = {
        row.key: row
        for row in session.scalars(
            select(SignInThrottle).where(SignInThrottle.key.in_([key for key, _ in keys]))
        )
    }
    for key, policy in keys:
        row = rows.get(key)
        if row is None:
            continue
        if row.locked_until is not None and row.locked_until > now:
            minutes = math.ceil((row.locked_until - now).total_seconds() / 60)
            return Refusal(
                f"Too many failed sign-ins for {policy.name}: sign-in is locked for "
                f"{minutes} more minute{'s' if minutes != 1 else ''}. "
                "If you forgot your password, ask an admin for a set-password link.",
                _seconds(row.locked_until - now),
            )
        ready_at = row.last_failure_at + policy.delay(row.failures)
        if ready_at > now and now - row.last_failure_at < policy.forget_after:
            seconds = _seconds(ready_at - now)
            return Refusal(
                f"Too many failed sign-ins for {policy.name}: wait {seconds} second"
                f"{'s' if seconds != 1 else ''} before trying again.",
                seconds,
            )
    return None


def _insert_missing(session: Session, key: str, now: datetime) -> None:
    """Create the key's row unless another request just did (both backends' upsert)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(SignInThrottle)
        .values(key=key, failures=0, first_failure_at=now, last_failure_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )


def record_failure(
    session: Session, keys: list[tuple[str, Policy]], *, now: datetime | None = None
) -> None:
    """Count one failed attempt against every key (the caller commits)."""
    now = now or utcnow()
    for key, policy in keys:
        _insert_missing(session, key, now)
        row = session.scalars(
            select(SignInThrottle).where(SignInThrottle.key == key).with_for_update()
        ).one()
        lock_over = row.locked_until is not None and row.locked_until <= now
        if lock_over or now - row.last_failure_at >= policy.forget_after:
            row.failures, row.first_failure_at, row.locked_until = 0, now, None
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= policy.lock_after:
            row.locked_until = now + policy.lock_for


def record_success(session: Session, email: str) -> None:
    """A good password clears the account's count (not the address's: one's own account must
    not reset a guesser's budget). The caller commits."""
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == account_key(email)))
