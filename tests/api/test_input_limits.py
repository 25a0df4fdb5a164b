"""Input that never 500s: NUL and control characters, values longer than their columns,
integers past what the database holds, bodies over 1,600 characters. Each gets a clear 4xx or
is stored safely (a text keeps everything but its NUL, which becomes U+FFFD)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from inbox.models import Contact, ContactEvent, Message, MessageStatus
from inbox.text import REPLACEMENT
from tests.api.test_webhooks import make_settings, post_sms, post_status

HUGE = "99999999999999999999"


@pytest.fixture
def settings(database_url, sessions):
    return make_settings(database_url)


@pytest.fixture
def webhook_client(settings):
    from fastapi.testclient import TestClient

    from api.app import create_app

    return TestClient(create_app(settings))


def test_a_text_with_nul_and_control_characters_is_stored_not_lost(
    webhook_client, settings, factory, session
):
    channel = factory.channel()
    body = "before\x00after \x01\x1b[31m\x7f tab\tnew\nline"
    response, _ = post_sms(webhook_client, settings, to_number=channel.number, body=body)
    assert response.status_code == 200, response.text
    stored = session.scalars(select(Message)).one()
    assert stored.body == body.replace("\x00", REPLACEMENT)


def test_a_40_character_error_code_is_stored_cut_to_its_column(
    webhook_client, settings, factory, session
):
    convo = factory.conversation()
    sid = "SM" + "b" * 32
    session.add(
        Message(
            conversation_id=convo.id,
            contact_id=convo.contact_id,
            channel_id=convo.channel_id,
            direction="outbound",
            body="hi",
            from_number="+14155550100",
            to_number=convo.contact_number,
            provider=settings.sms_provider,
            provider_message_id=sid,
            status=MessageStatus.SENT,
        )
    )
    session.commit()
    code = "3" * 40
    response = post_status(
        webhook_client, settings, MessageSid=sid, MessageStatus="undelivered", ErrorCode=code
    )
    assert response.status_code == 200, response.text
    session.expire_all()
    stored = session.scalars(select(Message)).one()
    assert stored.status == MessageStatus.UNDELIVERED
    assert stored.error_code == code[:32] and code in (stored.error_message or "")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/api/v1/conversations/{HUGE}", None),
        ("GET", f"/api/v1/conversations?inbox_id={HUGE}", None),
        ("GET", f"/api/v1/conversations?assignee_id={HUGE}", None),
        ("GET", f"/api/v1/contacts/{HUGE}", None),
        ("POST", f"/api/v1/conversations/{HUGE}/close", None),
        (
            "POST",
            "/api/v1/conversations",
            {"channel_id": int(HUGE), "contact_id": 1, "number": "+12025550100"},
        ),
        (
            "POST",
            "/api/v1/messages",
            {"contact_id": 2**31, "channel_id": 1, "number": "+12025550100", "body": "x"},
        ),
        ("POST", "/api/v1/contacts/1/events", {"kind": "call", "conversation_id": int(HUGE)}),
        ("POST", "/api/v1/conversations/1/move", {"inbox_id": -1}),
    ],
)
async def test_integers_past_the_database_get_a_422(api_client, method, path, body):
    response = await api_client.request(method, path, json=body)
    assert response.status_code == 422, response.text


async def test_a_body_over_1600_characters_gets_a_422(api_client, factory):
    convo = factory.conversation()
    response = await api_client.post(
        f"/api/v1/conversations/{convo.id}/messages", json={"body": "x" * 1601}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "body"]


async def test_nul_in_api_fields_and_json_is_stored_replaced(api_client, session):
    response = await api_client.post(
        "/api/v1/contacts",
        json={
            "name": "Ada\u0000",
            "fields": {"note\u0000": ["a\u0000b"]},
            "numbers": ["+12025550177"],
        },
    )
    assert response.status_code == 201, response.text
    contact = session.scalars(select(Contact)).one()
    assert contact.name == f"Ada{REPLACEMENT}"
    assert contact.fields == {f"note{REPLACEMENT}": [f"a{REPLACEMENT}b"]}
    event = await api_client.post(
        f"/api/v1/contacts/{contact.id}/events",
        json={"kind": "call", "summary": "rang\u0000", "data": {"k": "\u0000"}},
    )
    assert event.status_code == 201, event.text
    stored = session.scalars(select(ContactEvent)).one()
    assert stored.summary == f"rang{REPLACEMENT}" and stored.data == {"k": REPLACEMENT}
