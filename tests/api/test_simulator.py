"""The simulator's phone page, its JSON endpoints, and `inbox simulate`."""

from __future__ import annotations

import argparse

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from activities.sms import SmsActivities
from api.app import create_app
from inbox.cli import simulate as simulator_cli
from inbox.contracts import DeliverMessageInput
from inbox.models import Conversation, Message, SimulatorMessage
from inbox.providers import SimulatorProvider
from inbox.services.outbound import queue_message
from inbox.settings import Settings, get_settings

CONTACT = "+12025550143"


@pytest.fixture
def settings(database_url, sessions) -> Settings:
    return Settings(database_url=database_url, temporal_address="127.0.0.1:1")


@pytest.fixture
def client(settings) -> TestClient:
    return TestClient(create_app(settings))


def test_phone_page_lists_channels_without_any_cdn(client, factory):
    factory.channel(name="Sales <line>", number="+14155550100")
    page = client.get("/simulator")
    assert page.status_code == 200
    assert "+14155550100" in page.text
    assert "Sales &lt;line&gt;" in page.text  # autoescaped
    assert "https://" not in page.text  # no CDN: works offline


def test_texting_in_runs_the_inbound_path_and_the_thread_shows_both_ways(
    client, factory, session, sessions
):
    channel = factory.channel(number="+14155550100")
    sent = client.post(
        "/simulator/api/send", json={"from": "(202) 555-0143", "to": channel.number, "body": "Hi!"}
    )
    assert sent.status_code == 200, sent.text
    data = sent.json()
    assert data["created"] is True
    conversation = session.get(Conversation, data["conversation_id"])
    assert conversation.contact_number == CONTACT
    message = session.get(Message, data["message_id"])
    assert (message.provider, message.provider_message_id) == ("simulator", data["sid"])

    reply = queue_message(session, conversation=conversation, body="Hello, how can we help?")
    session.commit()
    SmsActivities(sessions, SimulatorProvider(sessions)).deliver_message(
        DeliverMessageInput(message_id=reply.id)
    )
    thread = client.get(
        "/simulator/api/messages", params={"number": CONTACT, "channel": channel.number}
    ).json()["messages"]
    assert [(m["direction"], m["body"]) for m in thread] == [
        ("inbound", "Hi!"),
        ("outbound", "Hello, how can we help?"),
    ]
    assert thread[1]["status"] == "delivered"
    assert len(client.get("/simulator/api/messages").json()["messages"]) == 2


def test_bad_input_is_named(client, factory, session):
    channel = factory.channel(number="+14155550100")
    bad_from = client.post(
        "/simulator/api/send", json={"from": "x", "to": channel.number, "body": "a"}
    )
    assert bad_from.status_code == 400 and "from" in bad_from.json()["detail"]
    empty = client.post(
        "/simulator/api/send", json={"from": CONTACT, "to": channel.number, "body": " "}
    )
    assert empty.status_code == 400 and "body" in empty.json()["detail"]
    unknown = client.post(
        "/simulator/api/send", json={"from": CONTACT, "to": "+14155550199", "body": "a"}
    )
    assert unknown.status_code == 404 and "+14155550199" in unknown.json()["detail"]
    assert client.get("/simulator/api/messages", params={"number": "nope"}).status_code == 400
    assert session.scalars(select(Message)).all() == []
    assert session.scalars(select(SimulatorMessage)).all() == []


def test_no_simulator_routes_with_twilio(database_url, sessions):
    settings = Settings(database_url=database_url, sms_provider="twilio")
    client = TestClient(create_app(settings))
    assert client.get("/simulator").status_code == 404
    assert client.get("/simulator/api/messages").status_code == 404


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="inbox")
    simulator_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_cli_texts_through_the_signed_webhook_and_prints_the_outbox(
    client, settings, factory, session, monkeypatch, capsys
):
    """`inbox simulate text` signs with the configured token and posts to INBOX_PUBLIC_URL."""
    monkeypatch.setenv("INBOX_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    monkeypatch.setattr(httpx, "post", client.post)
    monkeypatch.setattr(httpx, "get", client.get)
    channel = factory.channel(number="+14155550100")
    try:
        assert (
            run_cli(
                "simulate", "text", "--from", CONTACT, "--to", channel.number, "Is", "it", "open?"
            )
            == 0
        )
        assert run_cli("simulate", "outbox", "--number", CONTACT) == 0
        assert run_cli("simulate", "text", "--from", "bad", "--to", channel.number, "x") == 2
    finally:
        get_settings.cache_clear()
    message = session.scalars(select(Message)).one()
    assert message.body == "Is it open?" and message.provider == "simulator"
    out = capsys.readouterr()
    assert "Is it open?" in out.out
    assert "bad" in out.err
