"""A property test of the webhooks: signed requests with arbitrary fields (any text, NUL and
control characters, huge values, junk numbers and counts) never get a 5xx and never leave a
half-written row: either the message is stored whole (with its contact, conversation and
outbox signal) or nothing is."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from api.app import create_app
from inbox.models import Contact, ContactNumber, Conversation, Message, PendingSignal
from inbox.providers.twilio import SIGNATURE_HEADER, compute_signature
from tests.api.test_webhooks import make_settings

CHANNEL = "+14155550100"
# Any text hypothesis likes, biased towards what breaks databases and parsers.
nasty = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=2000),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\x1b[0m", "\ud7ff", "9" * 40, "%00", "+"]),
)
numbers = st.one_of(
    st.sampled_from(["+12025550143", "(202) 555-0143", "+442071838750", CHANNEL]), nasty
)
sids = st.one_of(st.from_regex(r"\ASM[0-9a-f]{32}\Z"), nasty)
inbound = st.fixed_dictionaries(
    {"MessageSid": sids, "From": numbers, "To": st.one_of(st.just(CHANNEL), numbers),
     "Body": nasty},
    optional={
        "NumMedia": st.one_of(st.sampled_from(["0", "1", "2", "11"]), nasty),
        "MediaUrl0": st.one_of(st.just("https://media.example.com/a.jpg"), nasty),
        "MediaContentType0": nasty,
        "MediaUrl1": nasty,
        "AccountSid": nasty,
        "Extra": nasty,
    },
)  # fmt: skip
# A well-formed envelope (real SID, numbers, our channel) around arbitrary content: the
# requests that reach the database.
texts = st.one_of(nasty, st.builds(lambda a, b: f"{a}\x00{b}", nasty, nasty))
stored = st.fixed_dictionaries(
    {"MessageSid": st.from_regex(r"\ASM[0-9a-f]{32}\Z"),
     "From": st.sampled_from(["+12025550143", "(202) 555-0144", "+442071838750"]),
     "To": st.just(CHANNEL), "Body": texts},
    optional={"NumMedia": st.sampled_from(["0", "1"]), "MediaUrl0": texts,
              "MediaContentType0": texts, "ProfileName": texts},
)  # fmt: skip
status = st.fixed_dictionaries(
    {"MessageSid": sids, "MessageStatus": st.one_of(
        st.sampled_from(["sent", "delivered", "undelivered", "failed", "queued"]), nasty)},
    optional={"ErrorCode": nasty, "ErrorMessage": nasty},
)  # fmt: skip


def _rows(session) -> dict[str, int]:
    return {
        model.__name__: int(session.scalar(select(func.count()).select_from(model)) or 0)
        for model in (Message, Contact, ContactNumber, Conversation, PendingSignal)
    }


@pytest.fixture
def hooks(database_url, sessions, factory):
    factory.channel(number=CHANNEL)
    app_settings = make_settings(database_url)
    return TestClient(create_app(app_settings)), app_settings


def _post(client: TestClient, app_settings, path: str, params: dict[str, Any]):
    url = app_settings.public_url.rstrip("/") + path
    signature = compute_signature(app_settings.twilio_auth_token, url, params)
    return client.post(path, data=params, headers={SIGNATURE_HEADER: signature})


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=st.one_of(inbound, stored))
def test_inbound_never_5xx_and_never_half_written(hooks, sessions, params):
    client, app_settings = hooks
    with sessions() as session:
        before = _rows(session)
    response = _post(client, app_settings, "/webhooks/twilio/sms", params)
    assert response.status_code < 500, response.text
    with sessions() as session:
        after = _rows(session)
        if response.status_code >= 400:
            assert after == before, response.text
            return
        sid = params["MessageSid"].strip()
        message = session.scalars(select(Message).where(Message.provider_message_id == sid)).one()
        conversation = session.get(Conversation, message.conversation_id)
        assert conversation is not None and conversation.contact_id == message.contact_id
        assert "\x00" not in message.body and "\x00" not in str(message.media)
        if after["Message"] == before["Message"] + 1:  # new (else a repeated delivery)
            # Kept whole: only the NUL is replaced (U+FFFD), nothing else is lost.
            sent = params["Body"].replace("\ufffd", "\x00")
            assert message.body.replace("\ufffd", "\x00") == sent
        assert after["Message"] - before["Message"] in (0, 1)  # 0: a repeated delivery


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=status)
def test_status_never_5xx(hooks, sessions, params):
    client, app_settings = hooks
    response = _post(client, app_settings, "/webhooks/twilio/status", params)
    assert response.status_code < 500, response.text
