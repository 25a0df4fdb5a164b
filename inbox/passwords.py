"""Password hashing with Argon2id (argon2-cffi's defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(plain: str) -> str:
    """An Argon2id hash of ``plain``, salt and parameters included, for ``User.password_hash``."""
    if not plain:
        raise ValueError("a password cannot be empty")
    return _hasher.hash(plain)


def verify_password(password_hash: str | None, plain: str) -> bool:
    """True when ``plain`` matches ``password_hash``; False for a wrong password or a missing or
    malformed hash (a user without a password cannot sign in)."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, plain)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with older parameters and should be replaced at next sign-in."""
    return _hasher.check_needs_rehash(password_hash)
