"""API keys: shown once, hashed at rest, revocable, last use recorded without a write per call."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from inbox.models import ApiKey, utcnow
from inbox.services.api_keys import authenticate, create_api_key, revoke


def test_key_format_and_only_a_hash_is_stored(session):
    row, plain = create_api_key(session, name="crm")
    session.commit()
    match = re.fullmatch(r"inbx_([0-9a-f]{8})_([A-Za-z0-9_-]{40,})", plain)
    assert match, plain
    assert row.prefix == match.group(1)
    assert row.key_hash == hashlib.sha256(plain.encode()).hexdigest()
    stored = session.get(ApiKey, row.id)
    assert plain not in {stored.prefix, stored.key_hash, stored.name}


def test_two_keys_differ(session):
    _, first = create_api_key(session, name="a")
    _, second = create_api_key(session, name="b")
    assert first != second


def test_authenticate_accepts_the_key_and_rejects_anything_else(session):
    row, plain = create_api_key(session, name="crm")
    session.commit()
    assert authenticate(session, plain) is row
    prefix = f"inbx_{row.prefix}_"
    for bad in [
        "",
        "inbx",
        prefix,
        prefix + "wrong-secret",
        plain + "x",
        plain[:-1],
        plain.replace("inbx_", "sk_", 1),
        "inbx_00000000_" + plain.split("_", 2)[2],
    ]:
        assert authenticate(session, bad) is None, bad


def test_revoked_key_is_refused(session):
    row, plain = create_api_key(session, name="crm")
    revoke(session, api_key=row)
    first = row.revoked_at
    revoke(session, api_key=row)
    session.commit()
    assert row.revoked_at == first
    assert authenticate(session, plain) is None


def test_last_used_at_written_at_most_once_a_minute(session):
    row, plain = create_api_key(session, name="crm")
    session.commit()
    assert row.last_used_at is None
    authenticate(session, plain)
    assert row.last_used_at is not None
    recent = utcnow() - timedelta(seconds=30)
    row.last_used_at = recent
    session.commit()
    authenticate(session, plain)
    assert row.last_used_at == recent
    assert not session.dirty
    old = utcnow() - timedelta(minutes=2)
    row.last_used_at = old
    session.commit()
    authenticate(session, plain)
    assert row.last_used_at > old
