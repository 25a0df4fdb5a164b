"""Demo data: who can sign in, where numbers route, and a workflow start queued per conversation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.cli.demo import DEMO_PASSWORD, DemoRefused, database_is_empty, load_demo
from inbox.contracts import conversation_workflow_id
from inbox.media import media_dir
from inbox.models import (
    CannedReply,
    Channel,
    Contact,
    ContactEvent,
    Conversation,
    EventKind,
    Inbox,
    Message,
    PendingSignal,
    User,
)
from inbox.passwords import verify_password
from inbox.settings import Settings

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def loaded(session: Session) -> Session:
    assert database_is_empty(session)
    load_demo(session, now=NOW)
    session.commit()
    return session


def test_users_roles_passwords_and_managers(loaded: Session) -> None:
    users = {u.email: u for u in loaded.scalars(select(User))}
    assert {email: u.role for email, u in users.items()} == {
        "admin@demo.test": "admin",
        "manager@demo.test": "manager",
        "agent@demo.test": "agent",
        "agent2@demo.test": "agent",
    }
    for user in users.values():
        assert verify_password(user.password_hash, DEMO_PASSWORD)
    manager = users["manager@demo.test"]
    assert users["agent@demo.test"].manager_id == manager.id
    assert users["agent2@demo.test"].manager_id == manager.id
    assert users["admin@demo.test"].manager_id is None


def test_inboxes_and_channels_route(loaded: Session) -> None:
    inboxes = {i.name: i for i in loaded.scalars(select(Inbox))}
    assert set(inboxes) == {"Support", "Sales"}
    assert inboxes["Support"].default_assignee is not None
    assert inboxes["Support"].default_assignee.email == "agent@demo.test"
    assert inboxes["Sales"].default_assignee is not None
    assert inboxes["Sales"].default_assignee.email == "agent2@demo.test"
    assert {m.email for m in inboxes["Sales"].members} >= {"agent2@demo.test"}
    channels = {c.number: c for c in loaded.scalars(select(Channel))}
    assert channels["+14155550100"].name == "Main line"
    assert channels["+14155550100"].default_inbox_id == inboxes["Support"].id
    assert channels["+14155550101"].name == "Sales line"
    assert channels["+14155550101"].default_inbox_id == inboxes["Sales"].id


def test_contacts_have_e164_numbers_and_custom_fields(loaded: Session) -> None:
    contacts = list(loaded.scalars(select(Contact)))
    assert len(contacts) >= 3
    assert any(len(c.numbers) > 1 for c in contacts), "one contact has several numbers"
    assert any(c.fields for c in contacts)
    for contact in contacts:
        for number in contact.numbers:
            assert number.number.startswith("+") and number.number[1:].isdigit()


def test_conversations_messages_events_and_clocks(loaded: Session) -> None:
    conversations = list(loaded.scalars(select(Conversation)))
    assert len(conversations) >= 4
    assert {c.status for c in conversations} == {"open", "closed"}
    directions = {m.direction for m in loaded.scalars(select(Message))}
    assert directions == {"inbound", "outbound"}
    kinds = {e.kind for e in loaded.scalars(select(ContactEvent))}
    assert {EventKind.CALL, EventKind.PURCHASE, EventKind.CONVERSATION_STARTED} <= kinds
    for conversation in conversations:
        messages = list(
            loaded.scalars(select(Message).where(Message.conversation_id == conversation.id))
        )
        assert messages, f"conversation {conversation.id} has messages"
        assert conversation.last_message_at == max(m.created_at for m in messages)
        assert conversation.last_message_at <= NOW
        assert conversation.first_inbound_at is not None
        if conversation.first_response_at is not None:
            expected = conversation.first_response_at - conversation.first_inbound_at
            assert conversation.time_to_first_response_seconds == expected.total_seconds()
        if conversation.status == "closed":
            assert conversation.closed_at is not None
            assert conversation.time_to_close_seconds is not None
    # Jordan's second number has a conversation of its own.
    jordan = loaded.scalars(select(Contact).where(Contact.name == "Jordan Lee")).one()
    numbers = {c.contact_number for c in conversations if c.contact_id == jordan.id}
    assert numbers == {n.number for n in jordan.numbers}


def test_one_workflow_start_queued_per_conversation(loaded: Session) -> None:
    conversations = list(loaded.scalars(select(Conversation)))
    signals = list(loaded.scalars(select(PendingSignal)))
    assert sorted(s.workflow_id for s in signals) == sorted(
        conversation_workflow_id(c.id) for c in conversations
    )
    by_id = {conversation_workflow_id(c.id): c for c in conversations}
    for signal in signals:
        conversation = by_id[signal.workflow_id]
        expected = "closed" if conversation.status == "closed" else "message_received"
        assert signal.signal == expected
        assert signal.start_input["conversation_id"] == conversation.id
        assert signal.payload["key"]


def test_without_workflows_nothing_is_queued(session: Session) -> None:
    load_demo(session, now=NOW, start_workflows=False)
    session.commit()
    assert session.scalars(select(PendingSignal)).first() is None


def test_refuses_a_database_that_has_data(session: Session) -> None:
    session.add(User(email="real@example.com", name="Real", role="admin"))
    session.commit()
    assert not database_is_empty(session)
    with pytest.raises(DemoRefused, match="already has data"):
        load_demo(session, now=NOW)
    session.rollback()
    assert [u.email for u in session.scalars(select(User))] == ["real@example.com"]


def test_recent_enough_to_look_live(loaded: Session) -> None:
    newest = max(c.last_message_at for c in loaded.scalars(select(Conversation)))
    assert NOW - newest < timedelta(hours=1)


def test_canned_replies_of_each_scope(loaded: Session) -> None:
    replies = {r.title: r for r in loaded.scalars(select(CannedReply))}
    assert {title: r.scope for title, r in replies.items()} == {
        "Shipping times": "shared",
        "Store hours": "inbox",
        "Annual plan discount": "inbox",
        "Sign-off": "personal",
    }
    owner = loaded.get(User, replies["Sign-off"].owner_id)
    assert owner is not None and owner.email == "agent@demo.test"


def test_with_a_data_folder_the_photo_is_a_stored_picture(session: Session, tmp_path) -> None:
    settings = Settings(database_url="sqlite://", data_dir=tmp_path)
    load_demo(session, now=NOW, start_workflows=False, settings=settings)
    session.commit()
    [photo] = [m for m in session.scalars(select(Message)) if m.media]
    [item] = photo.media
    assert item["content_type"] == "image/png"
    assert (media_dir(settings) / item["file"]).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
