"""API keys as the settings page manages them: the API engineer's service plus the audit log."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import ApiKey, ApiKeyAccess, Inbox
from inbox.services import api_keys
from inbox.services.admin import audit
from inbox.services.admin.errors import SettingsError


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, active first, newest first."""
    return list(
        session.scalars(select(ApiKey).order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc()))
    )


def create(
    session: Session,
    *,
    name: str,
    access: str = ApiKeyAccess.READ_WRITE,
    inbox_ids: list[int] | None = None,
    actor_id: int | None = None,
) -> tuple[ApiKey, str]:
    """A new key; the plain key is returned for showing once and never stored.

    ``inbox_ids`` None: every inbox (also those added later); a list: only those inboxes."""
    name = name.strip()
    if not name or len(name) > 200:
        raise SettingsError("name: 1 to 200 characters (say what uses the key)", field="name")
    if access not in {a.value for a in ApiKeyAccess}:
        raise SettingsError("access: read or read_write", field="access")
    inboxes: list[Inbox] = []
    if inbox_ids is not None:
        inboxes = list(session.scalars(select(Inbox).where(Inbox.id.in_(inbox_ids))))
        if not inboxes or len(inboxes) != len(set(inbox_ids)):
            raise SettingsError("inboxes: pick at least one existing inbox", field="inboxes")
    row, plain = api_keys.create_api_key(
        session, name=name, created_by_id=actor_id, access=access, inboxes=inboxes or None
    )
    audit.record(
        session,
        actor_id=actor_id,
        action="api_key.create",
        target=f"{name} ({row.prefix})",
        details={"access": access, "inboxes": [i.name for i in inboxes] or "all"},
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
