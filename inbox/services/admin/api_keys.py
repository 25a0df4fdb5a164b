"""API keys as the settings page manages them: the API engineer's service plus the audit log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import ApiKey
from inbox.services import api_keys
from inbox.services.admin import audit
from inbox.services.admin.errors import SettingsError


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, active first, newest first."""
    return list(
        session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc()))
    )


def create(session: Session, *, name: str, actor_id: int | None = None) -> tuple[ApiKey, str]:
    """A new key; the plain key is returned for showing once and never stored."""
    name = name.strip()
    if not name or len(name) > 200:
        raise SettingsError("name: 1 to 200 characters (say what uses the key)", field="name")
    row, plain = api_keys.create_api_key(session, name=name, created_by_id=actor_id)
    audit.record(
        session, actor_id=actor_id, action="api_key.create", target=f"{name} ({row.prefix})"
    )
    return row, plain


def revoke(session: Session, *, key: ApiKey, actor_id: int | None = None) -> None:
    """Revoke a key at once (requests with it get 401 from then on)."""
    if key.revoked_at is not None:
        raise SettingsError(f"key {key.name!r} is revoked already")
    api_keys.revoke(session, api_key=key)
    audit.record(
        session, actor_id=actor_id, action="api_key.revoke", target=f"{key.name} ({key.prefix})"
    )
