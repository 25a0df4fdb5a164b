"""API key scopes: read or read-write, every inbox or a chosen set. A key sees nothing of the
inboxes it is not for (404, not 403: it learns nothing), and a read-only key changes nothing.
Keys made before scopes existed keep full access (the migration's defaults)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from inbox import migrations
from inbox.db import make_engine
from inbox.models import ContactEvent, EventKind
from inbox.services.api_keys import authenticate, create_api_key, hash_key
from inbox.services.conversations import add_contact_event
from tests.databases import fresh_database
from tests.factories import Factory


@dataclass
class Two:
    mine: object
    theirs: object
    mine_key: str
    read_key: str


@pytest.fixture
def two(factory: Factory, session) -> Two:
    mine = factory.conversation()
    theirs = factory.conversation()
    add_contact_event(
        session,
        contact=theirs.contact,
        kind=EventKind.NOTE,
        summary="their secret note",
        conversation=theirs,
    )
    _, mine_key = create_api_key(session, name="mine", inboxes=[mine.inbox])
    _, read_key = create_api_key(session, name="reader", access="read")
    session.commit()
    return Two(mine, theirs, mine_key, read_key)


def _client(app: FastAPI, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {key}"},
    )


async def test_a_key_for_some_inboxes_sees_only_those(app, two):
    async with _client(app, two.mine_key) as client:
        listed = (await client.get("/api/v1/conversations")).json()["items"]
        assert [c["id"] for c in listed] == [two.mine.id]
        assert (await client.get(f"/api/v1/conversations/{two.mine.id}")).status_code == 200
        hidden = await client.get(f"/api/v1/conversations/{two.theirs.id}")
        assert hidden.status_code == 404
        assert hidden.json() == {"detail": f"conversation {two.theirs.id} not found"}
        contact = await client.get(f"/api/v1/contacts/{two.theirs.contact_id}")
        assert contact.status_code == 404
        for action in ("close", "spam"):
            response = await client.post(f"/api/v1/conversations/{two.theirs.id}/{action}")
            assert response.status_code == 404
        moved = await client.post(
            f"/api/v1/conversations/{two.mine.id}/move", json={"inbox_id": two.theirs.inbox_id}
        )
        assert moved.status_code == 422  # not into an inbox it is not for
        sent = await client.post(
            f"/api/v1/conversations/{two.theirs.id}/messages", json={"body": "hi"}
        )
        assert sent.status_code == 404
        event = await client.post(
            f"/api/v1/contacts/{two.theirs.contact_id}/events", json={"kind": "call"}
        )
        assert event.status_code == 404


async def test_a_read_only_key_reads_and_changes_nothing(app, two, session):
    async with _client(app, two.read_key) as client:
        assert (await client.get(f"/api/v1/conversations/{two.theirs.id}")).status_code == 200
        for path, body in [
            (f"/api/v1/conversations/{two.mine.id}/close", None),
            (f"/api/v1/conversations/{two.mine.id}/messages", {"body": "hi"}),
            ("/api/v1/contacts", {"numbers": ["+12025550123"]}),
            (f"/api/v1/contacts/{two.mine.contact_id}/events", {"kind": "call"}),
        ]:
            response = await client.post(path, json=body)
            assert response.status_code == 403, path
            assert response.json() == {"detail": "this API key is read-only"}
    session.expire_all()
    assert session.scalars(select(ContactEvent).where(ContactEvent.kind == "call")).all() == []


async def test_a_contact_log_through_a_scoped_key_leaves_out_other_inboxes(app, factory, session):
    mine = factory.conversation()
    contact = mine.contact
    theirs = factory.conversation(
        contact=contact, contact_number=contact.numbers[0].number, status="closed"
    )
    add_contact_event(
        session, contact=contact, kind=EventKind.NOTE, summary="mine", conversation=mine
    )
    add_contact_event(
        session, contact=contact, kind=EventKind.NOTE, summary="not yours", conversation=theirs
    )
    _, key = create_api_key(session, name="mine", inboxes=[mine.inbox])
    session.commit()
    async with _client(app, key) as client:
        detail = (await client.get(f"/api/v1/contacts/{contact.id}")).json()
    assert [e["summary"] for e in detail["log"]] == ["mine"]
    assert [c["id"] for c in detail["conversations"]] == [mine.id]


def test_keys_made_before_scopes_keep_full_access(tmp_path):
    with fresh_database(tmp_path) as url:
        migrations.upgrade(url, "0005_consent")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO api_keys (name, prefix, key_hash, created_at) "
                    "VALUES ('old', 'abcd1234', :h, CURRENT_TIMESTAMP)"
                ),
                {"h": hash_key("inbx_abcd1234_secret")},
            )
        migrations.upgrade(url)
        with Session(engine) as session:
            key = authenticate(session, "inbx_abcd1234_secret")
            assert key is not None and key.can_write and key.all_inboxes
        engine.dispose()
