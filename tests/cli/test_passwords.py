"""Argon2 password hashing for sign-in."""

from __future__ import annotations

import pytest

from inbox.passwords import hash_password, needs_rehash, verify_password


def test_hash_verifies_only_the_right_password() -> None:
    hashed = hash_password("demo1234")
    assert hashed.startswith("$argon2id$")
    assert "demo1234" not in hashed
    assert verify_password(hashed, "demo1234")
    assert not verify_password(hashed, "demo12345")
    assert not verify_password(hashed, "")
    assert not needs_rehash(hashed)


def test_same_password_gets_a_new_salt_each_time() -> None:
    assert hash_password("same") != hash_password("same")


@pytest.mark.parametrize("stored", [None, "", "plain-text", "$argon2id$v=19$garbage"])
def test_missing_or_malformed_hash_never_verifies(stored: str | None) -> None:
    assert verify_password(stored, "anything") is False


def test_empty_password_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be empty"):
        hash_password("")
