"""``/api/v1/conversations``: listing (filters, paging), timeline, start, send and actions, the
workflow signals they send, and what happens on bad input or a Temporal outage."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from inbox.contracts import conversation_workflow_id
from inbox.models import (
    ContactEvent,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    MessageStatus,
    PendingSignal,
    utcnow,
)
from inbox.settings import Settings


def _pending(sessions: sessionmaker[Session]) -> list[PendingSignal]:
    with sessions() as session:
        return list(session.scalars(select(PendingSignal).order_by(PendingSignal.id)))


def _field_error(response: httpx.Response, *loc: str | int) -> None:
    """The 422 names the field: its ``loc`` ends with ``loc``."""
    assert response.status_code == 422, response.text
    locs = [tuple(error["loc"]) for error in response.json()["detail"]]
    assert any(found[-len(loc) :] == loc for found in locs), locs


def _inbound(session: Session, convo: Conversation, body: str, at: datetime) -> Message:
    message = Message(
        conversation_id=convo.id,
        contact_id=convo.contact_id,
        channel_id=convo.channel_id,
        direction=Direction.INBOUND,
        body=body,
        from_number=convo.contact_number,
        to_number="+14155550000",
        provider="simulator",
        provider_message_id=f"SM{convo.id}-{body}",
        status=MessageStatus.RECEIVED,
        created_at=at,
    )
    session.add(message)
    session.commit()
    return message


# --- listing -------------------------------------------------------------------------------


@pytest.fixture
def listed(factory):
    """Five conversations: newest message first they are c4, c3, c2, c1, c0."""
    dana = factory.user(name="Dana")
    sales = factory.inbox(name="Sales")
    now = utcnow()
    rows = []
    for i in range(5):
        rows.append(
            factory.conversation(
                last_message_at=now - timedelta(minutes=10 - i),
                status=ConversationStatus.CLOSED if i == 1 else ConversationStatus.OPEN,
                assignee_id=dana.id if i in (2, 3) else None,
                **({"inbox_id": sales.id} if i >= 3 else {}),
            )
        )
    return {"rows": rows, "dana": dana, "sales": sales}


async def test_list_newest_message_first(api_client, listed):
    response = await api_client.get("/api/v1/conversations")
    assert response.status_code == 200
    ids = [item["id"] for item in response.json()["items"]]
    assert ids == [c.id for c in reversed(listed["rows"])]
    first = response.json()["items"][0]
    assert first["contact_name"].startswith("Contact")
    assert first["status"] == "open"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=closed", [1]),
        ("status=open", [4, 3, 2, 0]),
        ("inbox_id={sales}", [4, 3]),
        ("assignee_id={dana}", [3, 2]),
        ("assignee=none", [4, 1, 0]),
        ("status=open&assignee=none&inbox_id={sales}", [4]),
    ],
)
async def test_list_filters(api_client, listed, query, expected):
    url = "/api/v1/conversations?" + query.format(sales=listed["sales"].id, dana=listed["dana"].id)
    response = await api_client.get(url)
    assert response.status_code == 200, response.text
    assert [i["id"] for i in response.json()["items"]] == [listed["rows"][n].id for n in expected]


async def test_list_pages_with_a_cursor_without_gaps_or_repeats(api_client, listed):
    seen = []
    url = "/api/v1/conversations?limit=2"
    pages = 0
    while True:
        body = (await api_client.get(url)).json()
        pages += 1
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        if body["next_cursor"] is None:
            break
        url = f"/api/v1/conversations?limit=2&cursor={body['next_cursor']}"
    assert pages == 3
    assert seen == [c.id for c in reversed(listed["rows"])]


async def test_list_paging_is_stable_when_two_conversations_share_a_time(api_client, factory):
    at = utcnow()
    rows = [factory.conversation(last_message_at=at) for _ in range(3)]
    first = (await api_client.get("/api/v1/conversations?limit=2")).json()
    second = (
        await api_client.get(f"/api/v1/conversations?limit=2&cursor={first['next_cursor']}")
    ).json()
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted((r.id for r in rows), reverse=True)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=201", "limit"),
        ("limit=0", "limit"),
        ("status=pending", "status"),
        ("cursor=not-a-cursor", "cursor"),
        ("assignee=nobody", "assignee"),
        ("assignee=none&assignee_id=1", "assignee"),
        ("inbox_id=abc", "inbox_id"),
    ],
)
async def test_list_bad_query_names_the_parameter(api_client, query, field):
    _field_error(await api_client.get(f"/api/v1/conversations?{query}"), "query", field)


# --- one conversation and its timeline -------------------------------------------------------


async def test_get_conversation_with_merged_timeline(api_client, factory, session):
    convo = factory.conversation()
    t0 = utcnow() - timedelta(minutes=30)
    first = _inbound(session, convo, "hello", t0)
    posted = await api_client.post(
        f"/api/v1/contacts/{convo.contact_id}/events",
        json={
            "kind": "call",
            "summary": "Called back",
            "occurred_at": (t0 + timedelta(minutes=5)).isoformat(),
        },
    )
    assert posted.status_code == 201
    second = _inbound(session, convo, "are you there?", t0 + timedelta(minutes=10))
    closed = await api_client.post(f"/api/v1/conversations/{convo.id}/close")
    assert closed.status_code == 200

    response = await api_client.get(f"/api/v1/conversations/{convo.id}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == convo.id
    assert body["status"] == "closed"
    timeline = body["timeline"]
    assert [item["type"] for item in timeline] == ["message", "event", "message", "event"]
    assert timeline[0]["message"]["id"] == first.id
    assert timeline[1]["event"]["summary"] == "Called back"
    assert timeline[2]["message"]["id"] == second.id
    assert timeline[3]["event"]["kind"] == "conversation_closed"
    assert all((item["message"] is None) != (item["event"] is None) for item in timeline)


async def test_get_missing_conversation_is_404(api_client):
    response = await api_client.get("/api/v1/conversations/999999")
    assert response.status_code == 404
    assert response.json()["detail"] == "conversation 999999 not found"


# --- starting a conversation -----------------------------------------------------------------


async def test_start_conversation(api_client, factory, sessions):
    dana = factory.user(name="Dana")
    inbox = factory.inbox(default_assignee_id=dana.id)
    channel = factory.channel(default_inbox=inbox)
    contact = factory.contact(number="+12025550143")
    payload = {"channel_id": channel.id, "contact_id": contact.id, "number": "(202) 555-0143"}
    response = await api_client.post("/api/v1/conversations", json=payload)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["contact_number"] == "+12025550143"
    assert (body["inbox_id"], body["assignee_id"], body["status"]) == (inbox.id, dana.id, "open")
    with sessions() as session:
        [event] = session.scalars(select(ContactEvent)).all()
        assert (event.kind, event.conversation_id) == ("conversation_started", body["id"])

    again = await api_client.post("/api/v1/conversations", json=payload)
    assert again.status_code == 409
    assert f"conversation {body['id']} is already open" in again.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"number": "not a number"}, "number"),
        ({"number": "+1202"}, "number"),
        ({"number": "+12025550999"}, "number"),  # valid, but not this contact's
        ({"channel_id": 999_999}, "channel_id"),
        ({"contact_id": 999_999}, "contact_id"),
        ({"channel_id": "x"}, "channel_id"),
        ({"number": None}, "number"),
    ],
)
async def test_start_conversation_bad_input_names_the_field(
    api_client, factory, sessions, change, field
):
    channel = factory.channel()
    contact = factory.contact(number="+12025550144")
    payload = {"channel_id": channel.id, "contact_id": contact.id, "number": "+12025550144"}
    _field_error(await api_client.post("/api/v1/conversations", json=payload | change), field)
    with sessions() as session:
        assert session.scalars(select(Conversation)).first() is None


# --- sending ---------------------------------------------------------------------------------


async def test_send_message_queues_it_and_signals_the_workflow(
    api_client, factory, fake_temporal, sessions
):
    convo = factory.conversation()
    response = await api_client.post(
        f"/api/v1/conversations/{convo.id}/messages",
        json={"body": "Hi! How can we help?", "media": [{"url": "https://example.com/a.jpg"}]},
    )
    assert response.status_code == 202, response.text
    message = response.json()
    assert message["status"] == "queued"
    assert message["direction"] == "outbound"
    assert message["conversation_id"] == convo.id
    assert message["to_number"] == convo.contact_number
    assert message["automated"] is False
    assert message["media"][0]["url"] == "https://example.com/a.jpg"
    workflow_id = conversation_workflow_id(convo.id)
    assert fake_temporal.signals(workflow_id) == [("message_sent", f"msg-{message['id']}")]
    [call] = fake_temporal.calls
    assert (call.workflow, call.task_queue) == ("ConversationWorkflow", "inbox")
    assert call.start_input["conversation_id"] == convo.id
    assert _pending(sessions) == []  # delivered, so removed from the outbox


async def test_send_media_only_and_automated(api_client, factory, fake_temporal):
    convo = factory.conversation()
    response = await api_client.post(
        f"/api/v1/conversations/{convo.id}/messages",
        json={
            "media": [{"url": "https://example.com/a.jpg", "content_type": "image/jpeg"}],
            "automated": True,
        },
    )
    assert response.status_code == 202, response.text
    assert response.json()["automated"] is True
    assert fake_temporal.calls[0].payload["automated"] is True


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body"),
        ({"body": "   "}, "body"),
        ({"body": "x" * 1601}, "body"),
        ({"body": "hi", "media": [{"url": "not a url"}]}, "url"),
        ({"body": 5}, "body"),
    ],
)
async def test_send_bad_input_names_the_field(api_client, factory, sessions, payload, field):
    convo = factory.conversation()
    response = await api_client.post(f"/api/v1/conversations/{convo.id}/messages", json=payload)
    _field_error(response, field)
    with sessions() as session:
        assert session.scalars(select(Message)).first() is None


async def test_send_to_opted_out_contact_is_409_and_stores_nothing(api_client, factory, sessions):
    contact = factory.contact(opted_out=True)
    convo = factory.conversation(contact=contact)
    response = await api_client.post(
        f"/api/v1/conversations/{convo.id}/messages", json={"body": "hello?"}
    )
    assert response.status_code == 409
    assert "opted out" in response.json()["detail"]
    assert response.json()["code"] == "opted_out"
    with sessions() as session:
        assert session.scalars(select(Message)).first() is None
    assert _pending(sessions) == []


async def test_send_to_missing_conversation_is_404(api_client):
    response = await api_client.post("/api/v1/conversations/999999/messages", json={"body": "x"})
    assert response.status_code == 404


# --- actions ---------------------------------------------------------------------------------


async def test_close_reopen_assign_move_spam_send_their_signals(
    api_client, factory, fake_temporal, sessions
):
    dana = factory.user(name="Dana")
    sales = factory.inbox(name="Sales")
    convo = factory.conversation()
    base = f"/api/v1/conversations/{convo.id}"

    closed = await api_client.post(f"{base}/close")
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"] is not None
    reopened = await api_client.post(f"{base}/reopen")
    assert reopened.json()["status"] == "open"
    assert reopened.json()["closed_at"] is None
    assigned = await api_client.post(f"{base}/assign", json={"assignee_id": dana.id})
    assert assigned.json()["assignee_id"] == dana.id
    moved = await api_client.post(f"{base}/move", json={"inbox_id": sales.id})
    assert moved.json()["inbox_id"] == sales.id
    unassigned = await api_client.post(f"{base}/assign", json={"assignee_id": None})
    assert unassigned.json()["assignee_id"] is None
    spam = await api_client.post(f"{base}/spam")
    assert spam.json()["status"] == "spam"

    with sessions() as session:
        events = session.scalars(
            select(ContactEvent)
            .where(ContactEvent.conversation_id == convo.id)
            .order_by(ContactEvent.id)
        ).all()
    assert [e.summary for e in events] == [
        "Conversation closed",
        "Conversation reopened",
        "Assigned to Dana",
        "Moved to Sales",
        "Unassigned",
        "Marked as spam",
    ]
    expected_signals = ["closed", "reopened", "assigned", "moved", "assigned", "marked_spam"]
    assert fake_temporal.signals(conversation_workflow_id(convo.id)) == [
        (signal, f"{signal}-{event.id}")
        for signal, event in zip(expected_signals, events, strict=True)
    ]
    assert fake_temporal.calls[3].payload["inbox_id"] == sales.id
    assert _pending(sessions) == []


@pytest.mark.parametrize(
    ("action", "payload", "detail"),
    [
        ("reopen", None, "only a closed one can be reopened"),
        ("assign", {"assignee_id": None}, "already assigned to nobody"),
    ],
)
async def test_actions_not_allowed_are_409_with_a_clear_detail(
    api_client, factory, fake_temporal, sessions, action, payload, detail
):
    convo = factory.conversation()
    response = await api_client.post(f"/api/v1/conversations/{convo.id}/{action}", json=payload)
    assert response.status_code == 409
    assert detail in response.json()["detail"]
    assert fake_temporal.calls == []
    assert _pending(sessions) == []


async def test_close_twice_is_409(api_client, factory):
    convo = factory.conversation()
    assert (await api_client.post(f"/api/v1/conversations/{convo.id}/close")).status_code == 200
    again = await api_client.post(f"/api/v1/conversations/{convo.id}/close")
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"conversation {convo.id} is closed, only an open one can be closed"
    )


@pytest.mark.parametrize(
    ("action", "payload", "field"),
    [
        ("assign", {"assignee_id": 999_999}, "assignee_id"),
        ("assign", {}, "assignee_id"),
        ("assign", {"assignee_id": "dana"}, "assignee_id"),
        ("move", {"inbox_id": 999_999}, "inbox_id"),
        ("move", {}, "inbox_id"),
    ],
)
async def test_action_bad_input_names_the_field(
    api_client, factory, sessions, action, payload, field
):
    convo = factory.conversation()
    response = await api_client.post(f"/api/v1/conversations/{convo.id}/{action}", json=payload)
    _field_error(response, field)
    with sessions() as session:
        assert session.scalars(select(ContactEvent)).first() is None
    assert _pending(sessions) == []


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("close", None),
        ("reopen", None),
        ("spam", None),
        ("assign", {"assignee_id": None}),
        ("move", {"inbox_id": 1}),
    ],
)
async def test_actions_on_missing_conversation_are_404(api_client, action, payload):
    response = await api_client.post(f"/api/v1/conversations/999999/{action}", json=payload)
    assert response.status_code == 404
    assert response.json()["detail"] == "conversation 999999 not found"


# --- Temporal outage -------------------------------------------------------------------------


async def test_temporal_outage_keeps_signals_in_the_outbox_and_still_succeeds(
    api_client, app, factory, fake_temporal, sessions
):
    convo = factory.conversation()
    fake_temporal.down = True
    sent = await api_client.post(f"/api/v1/conversations/{convo.id}/messages", json={"body": "hi"})
    closed = await api_client.post(f"/api/v1/conversations/{convo.id}/close")
    assert (sent.status_code, closed.status_code) == (202, 200)

    pending = _pending(sessions)
    assert [p.signal for p in pending] == ["message_sent", "closed"]
    # Each request's flush tried the oldest signal; the close waits behind it (order per workflow).
    assert [p.attempts for p in pending] == [2, 0]
    assert "unreachable" in (pending[0].last_error or "")

    # Temporal is back: the relay delivers both, in order.
    fake_temporal.down = False
    delivered = await app.state.inbox.relay.flush()
    assert delivered == 2
    assert [s for s, _ in fake_temporal.signals(conversation_workflow_id(convo.id))] == [
        "message_sent",
        "closed",
    ]
    assert _pending(sessions) == []


async def test_unreachable_temporal_server_does_not_fail_the_request(
    database_url, api_key, factory, sessions
):
    # No client handed in: the app connects to a port where nothing listens.
    app = create_app(Settings(database_url=database_url, temporal_address="127.0.0.1:9"))
    convo = factory.conversation()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        headers={"Authorization": f"Bearer {api_key}"},
    ) as client:
        response = await client.post(f"/api/v1/conversations/{convo.id}/close")
    assert response.status_code == 200
    assert [p.signal for p in _pending(sessions)] == ["closed"]
