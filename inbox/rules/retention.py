"""Retention of the automation's records: every rule evaluation writes a run, so they are pruned.

The worker calls :func:`prune_forever`; ``INBOX_AUTOMATION_RUN_RETENTION_DAYS`` sets the age.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete
from sqlalchemy.orm import Session, sessionmaker

from inbox.models import RuleAction, RuleRun, utcnow

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 3600.0


def prune(session: Session, before: datetime) -> int:
    """Delete rule runs and action records created before ``before``; returns how many.

    An action record only matters while its action may be retried (minutes, hours), so one
    older than the retention can go with the runs.
    """
    deleted = 0
    for model in (RuleRun, RuleAction):
        result = session.execute(delete(model).where(model.created_at < before))
        deleted += int(cast(CursorResult[Any], result).rowcount or 0)
    return deleted


async def prune_forever(
    sessions: sessionmaker[Session], retention_days: int, interval: float = PRUNE_EVERY_SECONDS
) -> None:
    """Prune once per ``interval`` until cancelled (a failed pass is logged, not fatal)."""
    while True:
        try:
            deleted = await asyncio.to_thread(_prune_once, sessions, retention_days)
            if deleted:
                log.info(
                    "pruned %d rule run and action record(s) over %d days old",
                    deleted,
                    retention_days,
                )
        except Exception:
            log.exception("pruning rule runs failed; trying again in %.0f s", interval)
        await asyncio.sleep(interval)


def _prune_once(sessions: sessionmaker[Session], retention_days: int) -> int:
    with sessions() as session:
        deleted = prune(session, utcnow() - timedelta(days=retention_days))
        session.commit()
        return deleted
