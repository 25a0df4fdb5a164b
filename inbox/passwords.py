"""Password hashing with Argon2id (argon2-cffi's defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

import contextlib
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(plain: str) -> str:
    """An Argon2id hash of ``plain``, salt and parameters included, for ``User.password_hash``."""
    if not plain:
        raise ValueError("a password cannot be empty")
    return _hasher.hash(plain)


@functools.cache
def _dummy_hash() -> str:
    """A hash no password is checked against for real: made once, with today's parameters."""
    return _hasher.hash("no account has this password")


def verify_password(password_hash: str | None, plain: str) -> bool:
    """True when ``plain`` matches ``password_hash``; False for a wrong password or a missing or
    malformed hash (a user without a password cannot sign in).

    A missing hash (no such account, or one without a password) is still answered after a
    full Argon2 check against a dummy hash: the same work as a real one, so the time of the
    answer does not tell which e-mails have accounts."""
    if not password_hash:
        with contextlib.suppress(VerificationError, InvalidHashError):
            _hasher.verify(_dummy_hash(), plain)
        return False
    try:
        return _hasher.verify(password_hash, plain)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with older parameters and should be replaced at next sign-in."""
    return _hasher.check_needs_rehash(password_hash)
