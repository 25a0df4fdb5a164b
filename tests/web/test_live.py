"""The live follower: reads the feed by id, fans out to pages that may see the change, replays
what a page missed, renders alerts escaped, and prunes old rows."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from inbox import live as feed
from inbox.models import LiveEvent, utcnow
from tests.web.conftest import World, text_in
from web.live import LiveFollower, Subscriber, sse_message


def test_sse_framing_prefixes_every_line() -> None:
    assert sse_message("notify", "<a>\n<b>") == "event: notify\ndata: <a>\ndata: <b>\n\n"


async def _drain(queue: asyncio.Queue[str], timeout: float = 3.0) -> list[str]:
    frames = [await asyncio.wait_for(queue.get(), timeout)]
    while not queue.empty():
        frames.append(queue.get_nowait())
    return frames


async def test_follower_fans_out_by_visibility_and_alerts(sessions, world: World, database_url):
    follower = LiveFollower(sessions, database_url, poll_interval=0.05)
    await follower.start()
    try:
        sales_agent = Subscriber(user_id=world.agent.id, inbox_ids=frozenset({world.sales.id}))
        support_agent = Subscriber(
            user_id=world.other_agent.id, inbox_ids=frozenset({world.support.id})
        )
        manager = Subscriber(user_id=world.manager.id, inbox_ids=None)
        for subscriber in (sales_agent, support_agent, manager):
            follower.subscribe(subscriber)
        conversation = await asyncio.to_thread(
            text_in, sessions, world, body="<script>alert(1)</script>"
        )
        frames = "".join(await _drain(sales_agent.queue))
        assert "event: list" in frames
        assert f"event: conv-{conversation.id}" in frames
        assert "event: notify" in frames
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in frames and "<script>" not in frames
        assert "event: notify" in "".join(await _drain(manager.queue))
        assert support_agent.queue.empty()  # not their inbox

        # A page that connects late gets what it missed since the feed id it rendered.
        late = Subscriber(user_id=world.manager.id, inbox_ids=None)
        follower.subscribe(late, after=0)
        replay = "".join(await _drain(late.queue))
        assert f"event: conv-{conversation.id}" in replay
        assert "notify" not in replay  # old news is not alerted again
    finally:
        await follower.stop()


async def test_notifications_off_means_no_alert(sessions, world: World, database_url, session):
    world.agent.notifications_enabled = False
    session.merge(world.agent)
    session.commit()
    follower = LiveFollower(sessions, database_url, poll_interval=0.05)
    await follower.start()
    try:
        page = Subscriber(user_id=world.agent.id, inbox_ids=frozenset({world.sales.id}))
        follower.subscribe(page)
        await asyncio.to_thread(text_in, sessions, world, body="quiet please")
        frames = "".join(await _drain(page.queue))
        assert "event: list" in frames and "notify" not in frames
    finally:
        await follower.stop()


async def test_an_id_that_commits_late_is_still_delivered(sessions, database_url):
    # PostgreSQL hands out ids when rows are inserted, not when they commit: id n+2 can be
    # visible before id n+1. The follower must not move past n+1 while it may still arrive.
    follower = LiveFollower(sessions, database_url, poll_interval=0.05)
    await follower.start()
    try:
        page = Subscriber(user_id=1, inbox_ids=None)
        follower.subscribe(page)
        with sessions() as session:
            base = int(session.scalar(select(func.max(LiveEvent.id))) or 0)
            session.add(LiveEvent(id=base + 2, kind="x", conversation_id=2, data={}))
            session.commit()
        assert "event: conv-2" in "".join(await _drain(page.queue))
        with sessions() as session:
            session.add(LiveEvent(id=base + 1, kind="x", conversation_id=1, data={}))
            session.commit()
        frames = "".join(await _drain(page.queue))
        assert "event: conv-1" in frames
        assert "event: conv-2" not in frames  # delivered once
    finally:
        await follower.stop()


def test_prune_removes_only_old_rows(sessions, database_url):
    with sessions() as session:
        feed.publish(session, feed.CONVERSATION_UPDATED, conversation_id=1, inbox_id=1)
        session.add(LiveEvent(kind="x", data={}, created_at=utcnow() - timedelta(hours=2)))
        session.commit()
    LiveFollower(sessions, database_url)._prune()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(LiveEvent)) == 1
