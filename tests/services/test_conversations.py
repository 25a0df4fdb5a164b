"""Conversation actions: the row, the timeline event, the live event and the workflow signal move
together in one transaction; refused actions change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.contracts import conversation_workflow_id
from inbox.models import (
    ContactEvent,
    Conversation,
    ConversationStatus,
    EventKind,
    LiveEvent,
    PendingSignal,
    utcnow,
)
from inbox.services import conversations as svc
from inbox.services.conversations import ConversationActionError


def _signals(session: Session) -> list[PendingSignal]:
    return list(session.scalars(select(PendingSignal).order_by(PendingSignal.id)))


def _events(session: Session, conversation_id: int) -> list[ContactEvent]:
    return list(
        session.scalars(
            select(ContactEvent)
            .where(ContactEvent.conversation_id == conversation_id)
            .order_by(ContactEvent.id)
        )
    )


def _nothing_written(session: Session) -> bool:
    return (
        not _signals(session)
        and session.scalars(select(ContactEvent)).first() is None
        and session.scalars(select(LiveEvent)).first() is None
    )


def test_close_updates_row_logs_event_publishes_and_signals(factory, session):
    dana = factory.user(name="Dana")
    convo = factory.conversation()
    event = svc.close(session, conversation=convo, actor_id=dana.id)
    session.commit()

    assert convo.status == ConversationStatus.CLOSED
    assert convo.closed_at == event.occurred_at
    assert event.kind == EventKind.CONVERSATION_CLOSED
    assert event.summary == "Conversation closed by Dana"
    assert event.author_id == dana.id
    assert event.contact_id == convo.contact_id
    assert event.conversation_id == convo.id
    [signal] = _signals(session)
    assert signal.workflow_id == conversation_workflow_id(convo.id)
    assert signal.signal == "closed"
    assert signal.payload["key"] == f"closed-{event.id}"
    assert signal.payload["author_id"] == dana.id
    assert signal.payload["by_automation"] is False
    assert signal.start_input["conversation_id"] == convo.id
    kinds = {e.kind for e in session.scalars(select(LiveEvent))}
    assert kinds == {"event.created", "conversation.updated"}


def test_close_refused_unless_open(factory, session):
    convo = factory.conversation(status=ConversationStatus.CLOSED)
    with pytest.raises(ConversationActionError, match="only an open one can be closed"):
        svc.close(session, conversation=convo)
    session.rollback()
    assert _nothing_written(session)


def test_reopen_clears_closed_at_and_signals_reopened(factory, session):
    convo = factory.conversation()
    svc.close(session, conversation=convo)
    event = svc.reopen(session, conversation=convo, automation="wake-up")
    session.commit()
    assert convo.status == ConversationStatus.OPEN
    assert convo.closed_at is None
    assert event.summary == "Conversation reopened by automation 'wake-up'"
    assert event.automation == "wake-up"
    closed, reopened = _signals(session)
    assert (closed.signal, reopened.signal) == ("closed", "reopened")
    assert reopened.payload["key"] == f"reopened-{event.id}"
    assert reopened.payload["by_automation"] is True


def test_reopen_refused_when_open_spam_or_number_has_another_open_conversation(factory, session):
    convo = factory.conversation()
    with pytest.raises(ConversationActionError, match="only a closed one can be reopened"):
        svc.reopen(session, conversation=convo)
    svc.close(session, conversation=convo)
    session.commit()
    newer = factory.conversation(
        channel=convo.channel, contact=convo.contact, contact_number=convo.contact_number
    )
    with pytest.raises(ConversationActionError, match=f"conversation {newer.id} is already open"):
        svc.reopen(session, conversation=convo)
    spam = factory.conversation(status=ConversationStatus.SPAM)
    with pytest.raises(ConversationActionError, match="spam"):
        svc.reopen(session, conversation=spam)


def test_assign_and_unassign(factory, session):
    dana = factory.user(name="Dana")
    convo = factory.conversation()
    event = svc.assign(session, conversation=convo, assignee_id=dana.id)
    assert convo.assignee_id == dana.id
    assert event.summary == "Assigned to Dana"
    assert event.data == {"from_assignee_id": None, "assignee_id": dana.id}
    with pytest.raises(ConversationActionError, match="already assigned to Dana"):
        svc.assign(session, conversation=convo, assignee_id=dana.id)
    unassigned = svc.assign(session, conversation=convo, assignee_id=None)
    session.commit()
    assert convo.assignee_id is None
    assert unassigned.summary == "Unassigned"
    first, second = _signals(session)
    assert first.signal == second.signal == "assigned"
    assert first.payload["assignee_id"] == dana.id
    assert second.payload["assignee_id"] is None
    assert second.payload["key"] == f"assigned-{unassigned.id}"


def test_assign_refuses_unknown_or_inactive_user_naming_the_field(factory, session):
    gone = factory.user(is_active=False)
    convo = factory.conversation()
    for user_id in (gone.id, 999_999):
        with pytest.raises(ConversationActionError) as info:
            svc.assign(session, conversation=convo, assignee_id=user_id)
        assert info.value.field == "assignee_id"
    assert convo.assignee_id is None
    session.rollback()
    assert _nothing_written(session)


def test_move_keeps_assignee_and_signals_new_inbox(factory, session):
    dana = factory.user(name="Dana")
    sales = factory.inbox(name="Sales")
    convo = factory.conversation(assignee_id=dana.id)
    old_inbox = convo.inbox_id
    event = svc.move(session, conversation=convo, inbox_id=sales.id)
    session.commit()
    assert convo.inbox_id == sales.id
    assert convo.assignee_id == dana.id
    assert event.summary == "Moved to Sales"
    [signal] = _signals(session)
    assert signal.signal == "moved"
    assert signal.payload["inbox_id"] == sales.id
    assert signal.payload["key"] == f"moved-{event.id}"
    # Pages on both the old and the new inbox hear of it.
    inboxes = {e.inbox_id for e in session.scalars(select(LiveEvent))}
    assert inboxes == {old_inbox, sales.id}


def test_move_refusals(factory, session):
    convo = factory.conversation()
    with pytest.raises(ConversationActionError) as info:
        svc.move(session, conversation=convo, inbox_id=999_999)
    assert info.value.field == "inbox_id"
    with pytest.raises(ConversationActionError, match="already in inbox"):
        svc.move(session, conversation=convo, inbox_id=convo.inbox_id)


def test_mark_spam_sends_marked_spam_signal(factory, session):
    convo = factory.conversation()
    event = svc.mark_spam(session, conversation=convo, automation="spam-filter")
    session.commit()
    assert convo.status == ConversationStatus.SPAM
    assert convo.closed_at is not None
    assert event.kind == EventKind.MARKED_SPAM
    [signal] = _signals(session)
    assert signal.signal == "marked_spam"
    assert signal.payload["key"] == f"marked_spam-{event.id}"
    assert signal.payload["by_automation"] is True
    with pytest.raises(ConversationActionError, match="already spam"):
        svc.mark_spam(session, conversation=convo)


def test_start_conversation_routes_to_default_inbox_and_assignee(factory, session):
    dana = factory.user(name="Dana")
    inbox = factory.inbox(default_assignee_id=dana.id)
    channel = factory.channel(default_inbox=inbox)
    contact = factory.contact(number="+12025550111")
    convo = svc.start_conversation(
        session, channel=channel, contact=contact, number="+12025550111", actor_id=dana.id
    )
    session.commit()
    assert convo.id is not None
    assert (convo.inbox_id, convo.assignee_id, convo.status) == (inbox.id, dana.id, "open")
    [event] = _events(session, convo.id)
    assert event.kind == EventKind.CONVERSATION_STARTED
    assert event.author_id == dana.id
    assert session.scalars(select(LiveEvent.kind)).all() == ["conversation.created"]
    # The workflow starts with the first message; starting alone sends no signal.
    assert _signals(session) == []


def test_start_conversation_refusals(factory, session):
    channel = factory.channel()
    contact = factory.contact(number="+12025550112")
    with pytest.raises(ConversationActionError) as info:
        svc.start_conversation(session, channel=channel, contact=contact, number="+12025550999")
    assert info.value.field == "number"
    existing = factory.conversation(channel=channel, contact=contact)
    with pytest.raises(ConversationActionError, match=f"conversation {existing.id} is already"):
        svc.start_conversation(session, channel=channel, contact=contact, number="+12025550112")
    session.rollback()
    assert session.scalars(select(Conversation)).all() == [existing]


def test_add_contact_event_goes_to_the_most_recent_open_conversation(factory, session):
    contact = factory.contact()
    now = utcnow()
    older = factory.conversation(contact=contact, last_message_at=now - timedelta(hours=2))
    newer = factory.conversation(contact=contact, last_message_at=now - timedelta(hours=1))
    factory.conversation(contact=contact, status=ConversationStatus.CLOSED, last_message_at=now)
    at = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    event = svc.add_contact_event(
        session,
        contact=contact,
        kind="call",
        summary="Called, 4 min",
        data={"s": 240},
        occurred_at=at,
    )
    session.commit()
    assert event.conversation_id == newer.id
    assert event.occurred_at == at
    assert event.data == {"s": 240}
    explicit = svc.add_contact_event(session, contact=contact, kind="purchase", conversation=older)
    assert explicit.conversation_id == older.id


def test_add_contact_event_without_open_conversation_is_only_in_the_log(factory, session):
    contact = factory.contact()
    factory.conversation(contact=contact, status=ConversationStatus.CLOSED)
    event = svc.add_contact_event(session, contact=contact, kind="note", summary="VIP")
    session.commit()
    assert event.conversation_id is None
    assert event.contact_id == contact.id


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "conversation_closed"}, "kind"),
        ({"kind": "assigned"}, "kind"),
        ({"kind": "telepathy"}, "kind"),
        ({"kind": "call", "occurred_at": datetime(2024, 5, 1, 9, 30)}, "occurred_at"),
    ],
)
def test_add_contact_event_refusals_name_the_field(factory, session, kwargs, field):
    contact = factory.contact()
    with pytest.raises(ConversationActionError) as info:
        svc.add_contact_event(session, contact=contact, **kwargs)
    assert info.value.field == field


def test_add_contact_event_refuses_another_contacts_conversation(factory, session):
    contact = factory.contact()
    other = factory.conversation()
    with pytest.raises(ConversationActionError) as info:
        svc.add_contact_event(session, contact=contact, kind="call", conversation=other)
    assert info.value.field == "conversation_id"
