"""The notification centre in the web inbox: the bell's count on every page, the list (newest
first, unread filter, paging), mark read and mark all read (only one's own), the toast
switch, @mentions in notes, and the live stream's bell refresh and toast."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import select

from inbox.models import Conversation, Notification, NotificationKind, User
from inbox.services import notifications
from tests.web.conftest import World, text_in
from web.live import LiveFollower, Subscriber


def _notify(sessions, user_id: int, text: str, conversation_id: int | None = None, **kw):
    with sessions() as session:
        conversation = session.get(Conversation, conversation_id) if conversation_id else None
        made = notifications.notify(
            session, user=session.get_one(User, user_id), text=text, conversation=conversation, **kw
        )
        session.commit()
        return made.id


def _bell_count(html: str) -> str:
    match = re.search(r'id="bell-count">([^<]*)<', html)
    assert match, "no bell on the page"
    return match.group(1)


def test_bell_list_and_mark_read(sessions, world: World, signed_in) -> None:
    conversation = text_in(sessions, world, body="hello")
    first = _notify(sessions, world.manager.id, "First <b>one</b>", conversation.id,
                    automation="slow-reply")  # fmt: skip
    second = _notify(sessions, world.manager.id, "Second one", kind=NotificationKind.MENTION)
    _notify(sessions, world.agent.id, "Not the manager's")
    manager = signed_in("manager@example.com")

    inbox = manager.get("/inbox").text
    assert _bell_count(inbox) == "2"
    page = manager.get("/notifications").text
    assert page.index("Second one") < page.index("First &lt;b&gt;one&lt;/b&gt;")  # newest first
    assert "Not the manager" not in page
    assert f'href="/inbox/{conversation.id}"' in page
    assert "Automation: slow-reply" in page and "You were mentioned" in page

    done = manager.post(f"/notifications/{first}/read")
    assert done.status_code == 200
    assert f'id="notification-{first}"' in done.text and "Mark read" not in done.text
    assert 'hx-swap-oob="true"' in done.text and _bell_count(done.text) == "1"
    unread = manager.get("/notifications?unread=1").text
    assert "Second one" in unread and "First" not in unread
    assert _bell_count(manager.get("/notifications/bell").text) == "1"

    # Someone else's notification is not found; no CSRF token, refused.
    agents = _notify(sessions, world.agent.id, "for the agent")
    assert manager.post(f"/notifications/{agents}/read").status_code == 404
    assert manager.post(f"/notifications/{second}/read", csrf=False).status_code == 403

    everything = manager.post("/notifications/read-all", data={"unread": "1"}, htmx=False)
    assert everything.status_code == 303
    assert everything.headers["location"] == "/notifications?unread=1"
    assert _bell_count(manager.get("/inbox").text) == "0"
    assert "No unread notifications." in manager.get("/notifications?unread=1").text
    with sessions() as session:
        agent_unread = notifications.unread_count(session, world.agent.id)
    assert agent_unread == 2  # the manager's "all" is theirs only


def test_list_pages_and_refreshes_as_a_block(sessions, world: World, signed_in) -> None:
    for n in range(notifications.PAGE_SIZE + 3):
        _notify(sessions, world.agent.id, f"note number {n}.")
    agent = signed_in("agent@example.com")
    page = agent.get("/notifications").text
    assert "note number 52." in page and "note number 2." not in page
    older = re.search(r'id="older-page" href="([^"]+)"', page)
    assert older
    rest = agent.get(older.group(1).replace("&amp;", "&")).text
    assert "note number 2." in rest and "note number 3." not in rest
    assert 'id="older-page"' not in rest and 'id="newest-page"' in rest
    block = agent.get("/notifications", htmx=True).text  # the live refresh: just the centre
    assert block.lstrip().startswith('<div id="notification-centre"') and "<html" not in block


def test_toast_switch_is_per_user(sessions, world: World, signed_in) -> None:
    agent = signed_in("agent@example.com")
    assert 'aria-checked="true"' in agent.get("/notifications").text  # on by default
    switched = agent.post("/prefs/notification-toasts", data={"enabled": "0"})
    assert switched.status_code == 200 and "Pop-ups off" in switched.text
    with sessions() as session:
        assert session.get_one(User, world.agent.id).preferences["notification_toasts"] is False
        assert "notification_toasts" not in session.get_one(User, world.manager.id).preferences
    back = agent.post("/prefs/notification-toasts", data={"enabled": "1"}, htmx=False)
    assert back.status_code == 303
    assert "Pop-ups on" in agent.get("/notifications").text


def test_a_mention_in_a_note_notifies_the_teammate(sessions, world: World, signed_in) -> None:
    conversation = text_in(sessions, world, body="need a quote")
    agent = signed_in("agent@example.com")
    response = agent.post(
        f"/conversations/{conversation.id}/notes",
        data={"text": "@Max Manager can you approve? cc @olive @alex"},
    )
    assert response.status_code == 200
    with sessions() as session:
        rows = session.scalars(select(Notification)).all()
    # Olive cannot see Sales; Alex wrote it.
    assert [(row.user_id, row.kind) for row in rows] == [(world.manager.id, "mention")]
    assert rows[0].text.startswith("Alex Agent mentioned you in a note")
    manager = signed_in("manager@example.com")
    assert _bell_count(manager.get("/inbox").text) == "1"
    assert "You were mentioned" in manager.get("/notifications").text


async def _frames(queue: asyncio.Queue[str], timeout: float = 3.0) -> str:
    frames = [await asyncio.wait_for(queue.get(), timeout)]
    while not queue.empty():
        frames.append(queue.get_nowait())
    return "".join(frames)


async def test_live_stream_tells_only_the_recipient(sessions, world: World, database_url, session):
    world.agent.preferences = {"notification_toasts": False}
    session.merge(world.agent)
    session.commit()
    conversation = await asyncio.to_thread(text_in, sessions, world, body="hello")
    follower = LiveFollower(sessions, database_url, poll_interval=0.05)
    await follower.start()
    try:
        manager = Subscriber(user_id=world.manager.id, inbox_ids=None)
        admin = Subscriber(user_id=world.admin.id, inbox_ids=None)
        agent = Subscriber(user_id=world.agent.id, inbox_ids=frozenset({world.sales.id}))
        outsider = Subscriber(user_id=world.other_agent.id, inbox_ids=frozenset())
        for page in (manager, admin, agent, outsider):
            follower.subscribe(page)
        await asyncio.to_thread(
            _notify, sessions, world.manager.id, "Wait <i>over</i>", conversation.id,
            automation="slow-reply",
        )  # fmt: skip
        frames = await _frames(manager.queue)
        assert "event: notifications" in frames and "event: notification\n" in frames
        assert "Wait &lt;i&gt;over&lt;/i&gt;" in frames and "<i>" not in frames
        assert f'href="/inbox/{conversation.id}">View</a>' in frames
        assert "Automation: slow-reply" in frames
        assert "event: list" not in frames  # a notification changes no conversation
        assert admin.queue.empty() and agent.queue.empty()

        # Toasts off: the bell still refreshes, no toast; whatever inboxes the page sees.
        await asyncio.to_thread(_notify, sessions, world.agent.id, "quiet")
        frames = await _frames(agent.queue)
        assert "event: notifications" in frames and "event: notification\n" not in frames
        await asyncio.to_thread(_notify, sessions, world.other_agent.id, "for the outsider")
        assert "event: notification\n" in await _frames(outsider.queue)

        # Marking read refreshes the recipient's bells (their other tabs), nobody else's.
        def read_all() -> None:
            with sessions() as s:
                notifications.mark_all_read(s, user_id=world.manager.id)
                s.commit()

        await asyncio.to_thread(read_all)
        frames = await _frames(manager.queue)
        assert "event: notifications" in frames and "event: notification\n" not in frames
        assert admin.queue.empty()
    finally:
        await follower.stop()
