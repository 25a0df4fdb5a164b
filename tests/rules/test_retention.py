"""Pruning rule runs and action records by age."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from inbox.models import RuleAction, RuleRun, utcnow
from inbox.rules import retention


def _run(conversation_id: int, key: str, age: timedelta) -> RuleRun:
    return RuleRun(
        run_key=key,
        rule="r",
        version="v",
        conversation_id=conversation_id,
        trigger="message_received",
        trigger_key=key,
        outcome="skipped",
        created_at=utcnow() - age,
    )


def _action(conversation_id: int, key: str, age: timedelta) -> RuleAction:
    return RuleAction(
        key=key,
        conversation_id=conversation_id,
        rule="r",
        version="v",
        kind="close",
        status="done",
        created_at=utcnow() - age,
    )


def test_prune_deletes_only_what_is_older_than_the_cutoff(factory, session) -> None:
    cid = factory.conversation().id
    session.add_all(
        [
            _run(cid, "old", timedelta(days=91)),
            _run(cid, "new", timedelta(days=1)),
            _action(cid, "old-action", timedelta(days=91)),
            _action(cid, "new-action", timedelta(minutes=5)),
        ]
    )
    session.commit()
    assert retention.prune(session, utcnow() - timedelta(days=90)) == 2
    session.commit()
    assert session.scalars(select(RuleRun.run_key)).all() == ["new"]
    assert session.scalars(select(RuleAction.key)).all() == ["new-action"]


async def test_prune_forever_prunes_on_its_interval_until_cancelled(
    factory, session, sessions
) -> None:
    cid = factory.conversation().id
    session.add(_run(cid, "old", timedelta(days=8)))
    session.commit()
    task = asyncio.create_task(retention.prune_forever(sessions, 7, interval=0.01))
    for _ in range(200):
        session.expire_all()
        if session.scalars(select(RuleRun)).first() is None:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert session.scalars(select(RuleRun)).first() is None
    assert task.cancelled()
