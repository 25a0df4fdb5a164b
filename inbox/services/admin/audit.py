"""The audit log: who changed which setting, and when."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import AuditLog, User, utcnow


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit entry (``action`` is ``<area>.<verb>``, e.g. ``channel.create``)."""
    entry = AuditLog(
        actor_id=actor_id,
        action=action,
        target=target[:300],
        details=details or {},
        created_at=utcnow(),
    )
    session.add(entry)
    return entry


def recent(session: Session, *, limit: int = 200, action_prefix: str = "") -> list[AuditLog]:
    """The newest entries first, optionally only one area (``action_prefix="channel."``)."""
    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action_prefix:
        query = query.where(AuditLog.action.startswith(action_prefix))
    return list(session.scalars(query))


def actor_names(session: Session, entries: list[AuditLog]) -> dict[int, str]:
    """Names of the users who made ``entries`` (id → name)."""
    ids = {e.actor_id for e in entries if e.actor_id is not None}
    if not ids:
        return {}
    return {u.id: u.name for u in session.scalars(select(User).where(User.id.in_(ids)))}
