"""``/api/v1/contacts``: create, read with the log, post events that reach the timeline."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from inbox.models import Contact, ContactEvent, ConversationStatus, utcnow


def _field_error(response: httpx.Response, *loc: str | int) -> None:
    assert response.status_code == 422, response.text
    locs = [tuple(error["loc"]) for error in response.json()["detail"]]
    assert any(found[-len(loc) :] == loc for found in locs), locs


async def test_create_contact_normalises_numbers(api_client):
    response = await api_client.post(
        "/api/v1/contacts",
        json={
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "fields": {"company": "Analytical"},
            "numbers": ["(202) 555-0161", {"number": "+44 20 7183 8750", "label": "work"}],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Ada Lovelace"
    assert body["fields"] == {"company": "Analytical"}
    assert [(n["number"], n["label"]) for n in body["numbers"]] == [
        ("+12025550161", "mobile"),
        ("+442071838750", "work"),
    ]


async def test_number_of_another_contact_is_409(api_client, factory, sessions):
    owner = factory.contact(number="+12025550162")
    response = await api_client.post(
        "/api/v1/contacts", json={"name": "Copycat", "numbers": ["202-555-0162"]}
    )
    assert response.status_code == 409
    assert response.json()["detail"] == f"+12025550162 already belongs to contact {owner.id}"
    with sessions() as session:
        assert session.scalars(select(Contact)).all() == [session.get(Contact, owner.id)]


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({"name": "No numbers", "numbers": []}, ("numbers",)),
        ({"name": "Missing numbers"}, ("numbers",)),
        ({"numbers": ["banana"]}, ("numbers", 0, "number")),
        ({"numbers": ["+12025550163", "12"]}, ("numbers", 1, "number")),
        ({"numbers": ["+12025550163", "(202) 555-0163"]}, ("numbers",)),
        ({"numbers": ["+12025550163"], "name": "x" * 201}, ("name",)),
    ],
)
async def test_create_contact_bad_input_names_the_field(api_client, sessions, payload, loc):
    _field_error(await api_client.post("/api/v1/contacts", json=payload), *loc)
    with sessions() as session:
        assert session.scalars(select(Contact)).first() is None


async def test_get_contact_with_log_and_conversations(api_client, factory):
    contact = factory.contact(name="Grace")
    convo = factory.conversation(contact=contact)
    assert (await api_client.post(f"/api/v1/conversations/{convo.id}/close")).status_code == 200
    posted = await api_client.post(
        f"/api/v1/contacts/{contact.id}/events", json={"kind": "note", "summary": "Prefers email"}
    )
    assert posted.status_code == 201

    response = await api_client.get(f"/api/v1/contacts/{contact.id}")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Grace"
    assert [e["kind"] for e in body["log"]] == ["note", "conversation_closed"]  # newest first
    assert body["log"][0]["conversation_id"] is None  # no open conversation to attach it to
    assert body["log"][1]["conversation_id"] == convo.id
    assert [c["id"] for c in body["conversations"]] == [convo.id]


async def test_get_missing_contact_is_404(api_client):
    response = await api_client.get("/api/v1/contacts/999999")
    assert response.status_code == 404
    assert response.json()["detail"] == "contact 999999 not found"


async def test_posted_event_appears_in_log_and_in_open_conversation_timeline(api_client, factory):
    contact = factory.contact()
    convo = factory.conversation(contact=contact)
    at = (utcnow() - timedelta(minutes=3)).isoformat()
    response = await api_client.post(
        f"/api/v1/contacts/{contact.id}/events",
        json={
            "kind": "purchase",
            "summary": "Bought the Pro plan",
            "data": {"amount": 49.0, "currency": "USD"},
            "occurred_at": at,
        },
    )
    assert response.status_code == 201, response.text
    event = response.json()
    assert event["conversation_id"] == convo.id
    assert event["data"] == {"amount": 49.0, "currency": "USD"}

    timeline = (await api_client.get(f"/api/v1/conversations/{convo.id}")).json()["timeline"]
    assert [(i["type"], i["event"]["id"]) for i in timeline] == [("event", event["id"])]
    log = (await api_client.get(f"/api/v1/contacts/{contact.id}")).json()["log"]
    assert [e["id"] for e in log] == [event["id"]]


async def test_posted_event_to_a_chosen_conversation(api_client, factory):
    contact = factory.contact()
    closed = factory.conversation(contact=contact, status=ConversationStatus.CLOSED)
    factory.conversation(contact=contact)
    response = await api_client.post(
        f"/api/v1/contacts/{contact.id}/events",
        json={"kind": "call", "summary": "Follow-up call", "conversation_id": closed.id},
    )
    assert response.status_code == 201
    assert response.json()["conversation_id"] == closed.id


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "conversation_closed"}, "kind"),
        ({"kind": "telepathy"}, "kind"),
        ({}, "kind"),
        ({"kind": "call", "occurred_at": "2024-05-01T09:30:00"}, "occurred_at"),  # no time zone
        ({"kind": "call", "occurred_at": "yesterday"}, "occurred_at"),
        ({"kind": "call", "conversation_id": 999_999}, "conversation_id"),
        ({"kind": "call", "data": "not an object"}, "data"),
    ],
)
async def test_post_event_bad_input_names_the_field(api_client, factory, sessions, payload, field):
    contact = factory.contact()
    response = await api_client.post(f"/api/v1/contacts/{contact.id}/events", json=payload)
    _field_error(response, field)
    with sessions() as session:
        assert session.scalars(select(ContactEvent)).first() is None


async def test_post_event_to_another_contacts_conversation_is_422(api_client, factory):
    contact = factory.contact()
    other = factory.conversation()
    response = await api_client.post(
        f"/api/v1/contacts/{contact.id}/events", json={"kind": "call", "conversation_id": other.id}
    )
    _field_error(response, "conversation_id")


async def test_post_event_for_missing_contact_is_404(api_client):
    response = await api_client.post("/api/v1/contacts/999999/events", json={"kind": "call"})
    assert response.status_code == 404
