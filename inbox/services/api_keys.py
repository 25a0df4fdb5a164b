"""API keys for the JSON API: ``inbx_<prefix>_<secret>``, shown once, only a hash kept.

The key is 256 random bits, so a fast SHA-256 is as safe at rest as a slow password hash and
costs nothing per request. The 8-hex-digit prefix finds the row without scanning and lets an
admin tell keys apart in a list without seeing them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import ApiKey, ApiKeyAccess, Inbox, utcnow

KEY_SCHEME = "inbx"
# Writing last_used_at on every request would turn each read into a write; a minute is precise
# enough to tell a live key from a forgotten one.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Compared against when no row matches, so an unknown prefix takes as long as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"no such key").hexdigest()


def hash_key(key: str) -> str:
    """The SHA-256 hex digest stored for a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    session: Session,
    *,
    name: str,
    created_by_id: int | None = None,
    access: str = ApiKeyAccess.READ_WRITE,
    inboxes: list[Inbox] | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the plain key, which is never stored or shown again.

    By default the key reads and writes in every inbox; ``access="read"`` makes it read-only
    and ``inboxes`` limits it to those inboxes."""
    while True:
        prefix = secrets.token_hex(4)
        # 32 bits of prefix: a clash is rare but must not become a unique-constraint error.
        if session.scalars(select(ApiKey.id).where(ApiKey.prefix == prefix)).first() is None:
            break
    plain = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=hash_key(plain),
        created_by_id=created_by_id,
        access=access,
        all_inboxes=inboxes is None,
        inboxes=list(inboxes or []),
    )
    session.add(row)
    session.flush()
    return row, plain


def authenticate(session: Session, key: str) -> ApiKey | None:
    """The active key matching ``key``, or None (malformed, unknown, wrong secret or revoked).

    Touches ``last_used_at`` at most once a minute; the caller commits.
    """
    scheme, _, rest = key.partition("_")
    prefix, _, secret = rest.partition("_")
    row = None
    if scheme == KEY_SCHEME and len(prefix) == 8 and secret:
        row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    expected = row.key_hash if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(hash_key(key), expected)
    if row is None or not matches or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return row


def revoke(session: Session, *, api_key: ApiKey) -> None:
    """Revoke a key at once; revoking twice keeps the first time. The caller commits."""
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
