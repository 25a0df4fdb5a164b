"""``/api/v1/notifications``: list (a user's or everyone's, unread only, paged newest first),
mark one read, mark a user's all read; a key reads only what its inboxes hold; @mentions in
notes posted through the API notify too."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from inbox.models import Notification, Role
from inbox.services import notifications
from inbox.services.api_keys import create_api_key


def _client(app: FastAPI, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {key}"},
    )


async def test_list_filter_page_and_mark_read(api_client, session, factory) -> None:
    alice, bob = factory.user(name="Alice"), factory.user(name="Bob")
    conversation = factory.conversation()
    made = [
        notifications.notify(
            session, user=alice, text=f"a{i}", conversation=conversation, automation="r"
        )
        for i in range(3)
    ]
    notifications.notify(session, user=bob, text="b0")
    session.commit()

    everyone = (await api_client.get("/api/v1/notifications")).json()
    assert [n["text"] for n in everyone["items"]] == ["b0", "a2", "a1", "a0"]
    first = (await api_client.get(f"/api/v1/notifications?user_id={alice.id}&limit=2")).json()
    assert [n["text"] for n in first["items"]] == ["a2", "a1"]
    item = first["items"][0]
    assert item["kind"] == "rule" and item["automation"] == "r" and item["read_at"] is None
    assert item["conversation_id"] == conversation.id and item["user_id"] == alice.id
    rest = await api_client.get(
        f"/api/v1/notifications?user_id={alice.id}&limit=2&before={first['next_before']}"
    )
    assert [n["text"] for n in rest.json()["items"]] == ["a0"]
    assert rest.json()["next_before"] is None

    read = await api_client.post(f"/api/v1/notifications/{made[1].id}/read")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    again = await api_client.post(f"/api/v1/notifications/{made[1].id}/read")
    assert again.json()["read_at"] == read.json()["read_at"]  # read once, answered as it is
    unread = (await api_client.get(f"/api/v1/notifications?user_id={alice.id}&unread=true")).json()
    assert [n["text"] for n in unread["items"]] == ["a2", "a0"]

    marked = await api_client.post("/api/v1/notifications/read-all", json={"user_id": alice.id})
    assert marked.json() == {"marked": 2}
    with session.begin():
        assert notifications.unread_count(session, alice.id) == 0
        assert notifications.unread_count(session, bob.id) == 1

    assert (await api_client.post("/api/v1/notifications/999999/read")).status_code == 404
    missing = await api_client.get("/api/v1/notifications?user_id=999999")
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["query", "user_id"]
    bad = await api_client.post("/api/v1/notifications/read-all", json={"user_id": 999999})
    assert bad.status_code == 422
    assert (await api_client.post("/api/v1/notifications/read-all", json={})).status_code == 422


async def test_a_key_reads_only_its_inboxes(app, session, factory) -> None:
    user = factory.user()
    mine, theirs = factory.conversation(), factory.conversation()
    ours = notifications.notify(session, user=user, text="ours", conversation=mine)
    hidden = notifications.notify(session, user=user, text="theirs", conversation=theirs)
    notifications.notify(session, user=user, text="no conversation")
    _, key = create_api_key(session, name="mine", inboxes=[mine.inbox])
    _, reader = create_api_key(session, name="reader", access="read")
    session.commit()
    async with _client(app, key) as client:
        listed = (await client.get("/api/v1/notifications")).json()["items"]
        assert [n["id"] for n in listed] == [ours.id]
        assert (await client.post(f"/api/v1/notifications/{hidden.id}/read")).status_code == 404
        marked = await client.post("/api/v1/notifications/read-all", json={"user_id": user.id})
        assert marked.json() == {"marked": 1}
    async with _client(app, reader) as client:
        assert len((await client.get("/api/v1/notifications")).json()["items"]) == 3
        refused = await client.post(f"/api/v1/notifications/{hidden.id}/read")
        assert refused.status_code == 403
    with session.begin():
        assert notifications.unread_count(session, user.id) == 2


async def test_a_note_posted_through_the_api_mentions(api_client, session, factory) -> None:
    manager = factory.user(name="Max Manager", email="max@example.com", role=Role.MANAGER)
    conversation = factory.conversation()
    response = await api_client.post(
        f"/api/v1/contacts/{conversation.contact_id}/events",
        json={"kind": "note", "summary": "@max VIP order", "conversation_id": conversation.id},
    )
    assert response.status_code == 201
    call = await api_client.post(
        f"/api/v1/contacts/{conversation.contact_id}/events",
        json={"kind": "call", "summary": "@max called", "conversation_id": conversation.id},
    )
    assert call.status_code == 201  # only notes mention
    with session.begin():
        rows = session.scalars(select(Notification)).all()
        assert [(r.user_id, r.kind) for r in rows] == [(manager.id, "mention")]
        assert rows[0].text == "An integration mentioned you in a note: \u201c@max VIP order\u201d"
