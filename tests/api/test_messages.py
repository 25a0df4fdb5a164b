"""``/api/v1/messages``: a one-off SMS that creates no conversation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from inbox.contracts import message_workflow_id
from inbox.models import Conversation, Message, PendingSignal


def _field_error(response: httpx.Response, *loc: str | int) -> None:
    assert response.status_code == 422, response.text
    locs = [tuple(error["loc"]) for error in response.json()["detail"]]
    assert any(found[-len(loc) :] == loc for found in locs), locs


@pytest.fixture
def target(factory):
    return {"channel": factory.channel(), "contact": factory.contact(number="+12025550171")}


def _payload(target: dict[str, Any], **change: Any) -> dict[str, Any]:
    return {
        "contact_id": target["contact"].id,
        "channel_id": target["channel"].id,
        "number": "(202) 555-0171",
        "body": "Welcome aboard! Reply here any time.",
    } | change


async def test_one_off_sms_is_queued_without_a_conversation(
    api_client, target, fake_temporal, sessions
):
    response = await api_client.post("/api/v1/messages", json=_payload(target))
    assert response.status_code == 202, response.text
    message = response.json()
    assert message["conversation_id"] is None
    assert message["status"] == "queued"
    assert message["to_number"] == "+12025550171"
    assert message["from_number"] == target["channel"].number
    [call] = fake_temporal.calls
    assert call.workflow == "SendMessageWorkflow"
    assert call.id == message_workflow_id(message["id"])
    assert call.signal == "send"
    assert call.payload["message_id"] == message["id"]
    with sessions() as session:
        assert session.scalars(select(Conversation)).first() is None
        assert session.scalars(select(PendingSignal)).first() is None


async def test_one_off_sms_waits_in_the_outbox_when_temporal_is_down(
    api_client, target, fake_temporal, sessions
):
    fake_temporal.down = True
    response = await api_client.post("/api/v1/messages", json=_payload(target))
    assert response.status_code == 202
    with sessions() as session:
        [pending] = session.scalars(select(PendingSignal)).all()
        assert pending.workflow_id == message_workflow_id(response.json()["id"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"number": "+12025550999"}, "number"),  # valid, but not this contact's
        ({"number": "call me"}, "number"),
        ({"contact_id": 999_999}, "contact_id"),
        ({"channel_id": 999_999}, "channel_id"),
        ({"body": ""}, "body"),
        ({"body": "x" * 1601}, "body"),
    ],
)
async def test_bad_input_names_the_field_and_stores_nothing(
    api_client, target, sessions, change, field
):
    _field_error(await api_client.post("/api/v1/messages", json=_payload(target, **change)), field)
    with sessions() as session:
        assert session.scalars(select(Message)).first() is None
        assert session.scalars(select(PendingSignal)).first() is None


async def test_opted_out_contact_is_409(api_client, factory, sessions):
    channel = factory.channel()
    contact = factory.contact(number="+12025550172", opted_out=True)
    response = await api_client.post(
        "/api/v1/messages",
        json={
            "contact_id": contact.id,
            "channel_id": channel.id,
            "number": "+12025550172",
            "body": "Sale today!",
        },
    )
    assert response.status_code == 409
    assert "opted out" in response.json()["detail"]
    assert response.json()["code"] == "opted_out"  # a caller branches on the code, not words
    with sessions() as session:
        assert session.scalars(select(Message)).first() is None
