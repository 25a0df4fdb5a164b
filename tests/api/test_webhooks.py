"""Twilio webhooks: signature, bad input, idempotency, the outbox relay while Temporal is down."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from inbox.cli.simulate import signed_webhook, webhook_params
from inbox.contracts import SIGNAL_MESSAGE_RECEIVED, SIGNAL_REOPENED
from inbox.models import (
    Contact,
    ContactEvent,
    Conversation,
    ConversationStatus,
    Message,
    MessageStatus,
    PendingSignal,
    SimulatorMessage,
)
from inbox.providers.twilio import SIGNATURE_HEADER, compute_signature
from inbox.relay import Relay
from inbox.settings import Settings
from inbox.temporal import TemporalConnector

CONTACT = "+12025550143"
# Nothing listens on port 1: Temporal is "down" for every test unless it hands in a client.
UNREACHABLE_TEMPORAL = "127.0.0.1:1"


class FakeTemporal:
    """Stands in for a Temporal client: records every signal-with-start, or fails them all."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[dict[str, Any]] = []

    async def start_workflow(self, workflow: str, arg: Any, **kwargs: Any) -> None:
        if self.fail:
            raise RuntimeError("temporal is down")
        self.calls.append({"workflow": workflow, "arg": arg, **kwargs})


def make_settings(database_url: str, **kw: Any) -> Settings:
    kw.setdefault("temporal_address", UNREACHABLE_TEMPORAL)
    return Settings(database_url=database_url, **kw)


@pytest.fixture
def settings(database_url, sessions) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def client(settings) -> TestClient:
    # No `with`: the relay's background loop stays off, so tests control every flush.
    return TestClient(create_app(settings))


def post_sms(client: TestClient, settings: Settings, *, sign: bool = True, **fields: Any):
    params = webhook_params(
        settings=settings,
        from_number=fields.pop("from_number", CONTACT),
        to_number=fields.pop("to_number"),
        body=fields.pop("body", "Hello there"),
        sid=fields.pop("sid", None),
        media=fields.pop("media", None),
    )
    for key, value in fields.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    _, headers = signed_webhook(settings, params)
    if not sign:
        headers = {}
    return client.post("/webhooks/twilio/sms", data=params, headers=headers), params


def count(session, model) -> int:
    return int(session.scalar(select(func.count()).select_from(model)))


def nothing_stored(session) -> bool:
    return all(
        count(session, model) == 0
        for model in (Message, Contact, Conversation, ContactEvent, PendingSignal)
    )


def test_inbound_stored_routed_and_kept_for_the_relay_when_temporal_is_down(
    client, settings, factory, session
):
    agent = factory.user()
    inbox = factory.inbox(default_assignee_id=agent.id)
    channel = factory.channel(default_inbox=inbox)

    response, params = post_sms(client, settings, to_number=channel.number, body="Hi, a quote?")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response/>" in response.text
    message = session.scalars(select(Message)).one()
    assert (message.body, message.direction, message.status) == (
        "Hi, a quote?",
        "inbound",
        "received",
    )
    assert message.provider_message_id == params["MessageSid"]
    assert message.from_number == CONTACT and message.to_number == channel.number
    conversation = session.get(Conversation, message.conversation_id)
    assert conversation.inbox_id == inbox.id and conversation.assignee_id == agent.id
    assert conversation.status == ConversationStatus.OPEN
    assert conversation.last_message_preview == "Hi, a quote?"
    contact = session.get(Contact, message.contact_id)
    assert [n.number for n in contact.numbers] == [CONTACT]
    events = session.scalars(select(ContactEvent)).all()
    assert [e.kind for e in events] == ["conversation_started"]
    # Temporal was unreachable: the signal waits in the outbox.
    pending = session.scalars(select(PendingSignal)).one()
    assert pending.workflow_id == f"conversation-{conversation.id}"
    assert pending.signal == SIGNAL_MESSAGE_RECEIVED
    assert pending.payload["key"] == f"msg-{message.id}"
    # The simulator (the default provider) shows the text on the contact's phone.
    phone = session.scalars(select(SimulatorMessage)).one()
    assert (phone.direction, phone.from_number, phone.sid) == (
        "inbound",
        CONTACT,
        message.provider_message_id,
    )


async def test_a_later_flush_delivers_what_waited(client, settings, factory, session, sessions):
    channel = factory.channel()
    response, _ = post_sms(client, settings, to_number=channel.number)
    assert response.status_code == 200
    assert count(session, PendingSignal) == 1

    down = FakeTemporal(fail=True)
    assert await Relay(sessions, TemporalConnector(settings, down)).flush() == 0  # type: ignore[arg-type]
    session.expire_all()
    row = session.scalars(select(PendingSignal)).one()
    assert row.attempts == 1 and "temporal is down" in row.last_error

    back = FakeTemporal()
    assert await Relay(sessions, TemporalConnector(settings, back)).flush() == 1  # type: ignore[arg-type]
    conversation = session.scalars(select(Conversation)).one()
    (call,) = back.calls
    assert call["workflow"] == "ConversationWorkflow"
    assert call["id"] == f"conversation-{conversation.id}"
    assert call["start_signal"] == SIGNAL_MESSAGE_RECEIVED
    assert count(session, PendingSignal) == 0


def test_flush_after_commit_when_temporal_is_up(database_url, sessions, factory, session):
    settings = make_settings(database_url)
    temporal = FakeTemporal()
    client = TestClient(create_app(settings, temporal_client=temporal))  # type: ignore[arg-type]
    channel = factory.channel()
    response, _ = post_sms(client, settings, to_number=channel.number)
    assert response.status_code == 200
    assert len(temporal.calls) == 1
    assert count(session, PendingSignal) == 0


def test_a_signal_that_waited_keeps_its_place_before_the_next(
    database_url, sessions, factory, session
):
    # The request's own signal goes out in hand only when nothing older waits for the same
    # workflow; here the first one waited (Temporal down), so the second flushes both, in order.
    settings = make_settings(database_url)
    temporal = FakeTemporal(fail=True)
    client = TestClient(create_app(settings, temporal_client=temporal))  # type: ignore[arg-type]
    channel = factory.channel()
    first, _ = post_sms(client, settings, to_number=channel.number, body="first")
    assert first.status_code == 200 and count(session, PendingSignal) == 1
    temporal.fail = False
    second, _ = post_sms(client, settings, to_number=channel.number, body="second")
    assert second.status_code == 200
    bodies = [call["start_signal_args"][0]["body"] for call in temporal.calls]
    assert bodies == ["first", "second"]
    assert count(session, PendingSignal) == 0


def test_a_new_conversation_hands_its_workflow_the_first_state(client, settings, factory, session):
    # The row was written in the same transaction: the workflow need not read it back.
    agent = factory.user()
    channel = factory.channel(default_inbox=factory.inbox(default_assignee_id=agent.id))
    post_sms(client, settings, to_number=channel.number, body="first")
    post_sms(client, settings, to_number=channel.number, body="second")
    first, second = session.scalars(select(PendingSignal).order_by(PendingSignal.id)).all()
    conversation = session.scalars(select(Conversation)).one()
    state = first.start_input["state"]
    assert (state["conversation_id"], state["status"]) == (conversation.id, "open")
    assert (state["inbox_id"], state["assignee_id"]) == (conversation.inbox_id, agent.id)
    assert state["clocks"]["first_inbound_at"] is None and state["messages_received"] == 0
    assert second.start_input["state"] is None  # an existing conversation: the workflow loads it


def test_the_web_process_reads_no_rules(database_url, sessions, factory, session, tmp_path):
    # Rules are selected in one place, the worker: a missing or broken rules folder here
    # changes nothing in what the webhook stores and signals.
    (tmp_path / "a.yaml").write_text("- name: ack\n  triger: message_received\n")
    for rules_dir in (tmp_path, tmp_path / "missing"):
        settings = make_settings(database_url, rules_dir=rules_dir)
        channel = factory.channel()
        response, _ = post_sms(TestClient(create_app(settings)), settings, to_number=channel.number)
        assert response.status_code == 200
    payloads = [row.payload for row in session.scalars(select(PendingSignal))]
    assert len(payloads) == 2 and all("rules" not in payload for payload in payloads)


def test_same_webhook_twice_stores_one_message(client, settings, factory, session):
    channel = factory.channel()
    first, params = post_sms(client, settings, to_number=channel.number)
    second, _ = post_sms(client, settings, to_number=channel.number, sid=params["MessageSid"])
    assert first.status_code == second.status_code == 200
    assert count(session, Message) == 1
    assert count(session, PendingSignal) == 1  # the repeat enqueued nothing
    assert count(session, SimulatorMessage) == 1


def test_bad_signature_is_403_and_stores_nothing(client, settings, factory, session):
    channel = factory.channel()
    unsigned, _ = post_sms(client, settings, to_number=channel.number, sign=False)
    assert unsigned.status_code == 403
    params = webhook_params(
        settings=settings, from_number=CONTACT, to_number=channel.number, body="x"
    )
    _, headers = signed_webhook(settings, params)
    params["Body"] = "tampered"
    tampered = client.post("/webhooks/twilio/sms", data=params, headers=headers)
    assert tampered.status_code == 403
    assert "X-Twilio-Signature" in tampered.json()["detail"]
    other_token = compute_signature(
        "not-the-token", "http://127.0.0.1:8000/webhooks/twilio/sms", params
    )
    wrong_key = client.post(
        "/webhooks/twilio/sms", data=params, headers={SIGNATURE_HEADER: other_token}
    )
    assert wrong_key.status_code == 403
    assert nothing_stored(session)


def test_signature_uses_the_public_url_behind_a_proxy(database_url, sessions, factory, session):
    """Twilio signs the URL it called (the proxy's https address), not the one we listen on."""
    settings = make_settings(database_url, public_url="https://inbox.example.com/")
    client = TestClient(create_app(settings))
    channel = factory.channel()
    params = webhook_params(
        settings=settings, from_number=CONTACT, to_number=channel.number, body="hi"
    )
    local = compute_signature(
        settings.twilio_auth_token, "http://testserver/webhooks/twilio/sms", params
    )
    refused = client.post("/webhooks/twilio/sms", data=params, headers={SIGNATURE_HEADER: local})
    assert refused.status_code == 403
    public = compute_signature(
        settings.twilio_auth_token, "https://inbox.example.com/webhooks/twilio/sms", params
    )
    accepted = client.post("/webhooks/twilio/sms", data=params, headers={SIGNATURE_HEADER: public})
    assert accepted.status_code == 200
    # A query string is part of what Twilio signs.
    params["MessageSid"] = "SM" + "1" * 32
    signed = compute_signature(
        settings.twilio_auth_token, "https://inbox.example.com/webhooks/twilio/sms?tenant=a", params
    )
    with_query = client.post(
        "/webhooks/twilio/sms?tenant=a", data=params, headers={SIGNATURE_HEADER: signed}
    )
    assert with_query.status_code == 200
    assert count(session, Message) == 2


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"From": None}, "From"),
        ({"To": None}, "To"),
        ({"MessageSid": None}, "MessageSid"),
        ({"Body": None}, "Body"),
        ({"From": "not a number"}, "From"),
        ({"To": "12"}, "To"),
        ({"MessageSid": "SM bad id!"}, "MessageSid"),
        ({"NumMedia": "many"}, "NumMedia"),
        ({"NumMedia": "1"}, "MediaUrl0"),
        ({"NumMedia": "1", "MediaUrl0": "ftp://x/y.png"}, "MediaUrl0"),
    ],
)
def test_missing_or_malformed_field_is_400_naming_it(
    client, settings, factory, session, fields, named
):
    channel = factory.channel()
    response, _ = post_sms(client, settings, to_number=channel.number, **fields)
    assert response.status_code == 400
    assert named in response.json()["detail"]
    assert nothing_stored(session)


def test_oversized_body_is_413(database_url, sessions, factory, session):
    settings = make_settings(database_url, max_webhook_bytes=1024)
    client = TestClient(create_app(settings))
    channel = factory.channel()
    response, _ = post_sms(client, settings, to_number=channel.number, body="x" * 2000)
    assert response.status_code == 413
    # Without a Content-Length (chunked), the body is still measured as it arrives.
    params = webhook_params(
        settings=settings, from_number=CONTACT, to_number=channel.number, body="y" * 2000
    )
    _, headers = signed_webhook(settings, params)
    encoded = "&".join(f"{k}={v}" for k, v in params.items()).encode()
    chunked = client.post(
        "/webhooks/twilio/sms",
        content=iter([encoded[:600], encoded[600:]]),
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "content-length" not in {k.lower() for k in chunked.request.headers}
    assert chunked.status_code == 413
    assert nothing_stored(session)


def test_unknown_to_number_is_404_logged_and_nothing_written(
    client, settings, factory, session, caplog
):
    factory.channel(number="+14155550100")
    with caplog.at_level(logging.WARNING):
        response, _ = post_sms(client, settings, to_number="+14155550199")
    assert response.status_code == 404
    # The answer names the number (for whoever set up the webhook); the log does not.
    assert "+14155550199" in response.json()["detail"]
    rejected = [r.getMessage() for r in caplog.records if "no channel has" in r.getMessage()]
    assert rejected and not any("4155550199" in message for message in rejected)
    assert nothing_stored(session)
    assert count(session, SimulatorMessage) == 0


def test_mms_media_is_stored(client, settings, factory, session):
    channel = factory.channel()
    response, _ = post_sms(
        client,
        settings,
        to_number=channel.number,
        body="",
        media=["https://example.com/a.jpg"],
        MediaContentType0="image/jpeg",
    )
    assert response.status_code == 200
    message = session.scalars(select(Message)).one()
    assert message.media == [{"url": "https://example.com/a.jpg", "content_type": "image/jpeg"}]
    assert session.get(Conversation, message.conversation_id).last_message_preview == "[media]"


def test_new_inbound_reopens_a_closed_conversation(client, settings, factory, session):
    channel = factory.channel()
    contact = factory.contact(number=CONTACT)
    closed = factory.conversation(
        channel=channel, contact=contact, status=ConversationStatus.CLOSED
    )
    response, _ = post_sms(client, settings, to_number=channel.number)
    assert response.status_code == 200
    session.expire_all()
    assert session.get(Conversation, closed.id).status == ConversationStatus.OPEN
    assert count(session, Conversation) == 1
    signals = [
        row.signal for row in session.scalars(select(PendingSignal).order_by(PendingSignal.id))
    ]
    assert signals == [SIGNAL_REOPENED, SIGNAL_MESSAGE_RECEIVED]


def post_status(client, settings, **params: str) -> Any:
    url = settings.public_url.rstrip("/") + "/webhooks/twilio/status"
    signature = compute_signature(settings.twilio_auth_token, url, params)
    return client.post(
        "/webhooks/twilio/status", data=params, headers={SIGNATURE_HEADER: signature}
    )


def test_status_callbacks_move_forward_only(client, settings, factory, session):
    convo = factory.conversation()
    message = Message(
        conversation_id=convo.id,
        contact_id=convo.contact_id,
        channel_id=convo.channel_id,
        direction="outbound",
        body="On our way",
        from_number="+14155550100",
        to_number=convo.contact_number,
        provider=settings.sms_provider,
        provider_message_id="SM" + "a" * 32,
        status=MessageStatus.SENT,
    )
    session.add(message)
    session.commit()
    sid = "SM" + "a" * 32
    assert (
        post_status(client, settings, MessageSid=sid, MessageStatus="delivered").status_code == 200
    )
    assert post_status(client, settings, MessageSid=sid, MessageStatus="sent").status_code == 200
    session.expire_all()
    assert session.get(Message, message.id).status == MessageStatus.DELIVERED
    assert session.get(Message, message.id).delivered_at is not None
    unknown = post_status(client, settings, MessageSid="SM" + "b" * 32, MessageStatus="delivered")
    assert unknown.status_code == 200  # a report about a message we never sent changes nothing
    bad = client.post(
        "/webhooks/twilio/status",
        data={"MessageSid": sid, "MessageStatus": "failed"},
        headers={SIGNATURE_HEADER: "forged"},
    )
    assert bad.status_code == 403
    missing = post_status(client, settings, MessageSid=sid)
    assert missing.status_code == 400 and "MessageStatus" in missing.json()["detail"]


def test_failed_status_records_the_error(client, settings, factory, session):
    convo = factory.conversation()
    message = Message(
        conversation_id=convo.id,
        contact_id=convo.contact_id,
        channel_id=convo.channel_id,
        direction="outbound",
        body="Hello",
        from_number="+14155550100",
        to_number=convo.contact_number,
        provider=settings.sms_provider,
        provider_message_id="SM" + "c" * 32,
        status=MessageStatus.SENT,
    )
    session.add(message)
    session.commit()
    response = post_status(
        client,
        settings,
        MessageSid="SM" + "c" * 32,
        MessageStatus="undelivered",
        ErrorCode="30005",
    )
    assert response.status_code == 200
    session.expire_all()
    stored = session.get(Message, message.id)
    assert (stored.status, stored.error_code) == (MessageStatus.UNDELIVERED, "30005")
    assert "30005" in stored.error_message
