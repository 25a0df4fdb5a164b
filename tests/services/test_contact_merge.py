"""Merging two contacts: every row of the other moves, nothing is lost, the kept contact's
empty details are filled, the merge is audited and logged; refused for one contact twice and
for a contact the caller cannot see."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import (
    AuditLog,
    BlockedNumber,
    ConsentRecord,
    Contact,
    ContactEvent,
    ContactNumber,
    Conversation,
    EventKind,
    Message,
)
from inbox.services import visibility
from inbox.services.contact_merge import AUDIT_ACTION, MergeError, merge_contacts
from inbox.services.conversations import add_contact_event
from tests.factories import Factory
from web.search import search_clause


def _count(session: Session, model: type, contact_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(model).where(model.contact_id == contact_id)  # type: ignore[attr-defined]
        )
        or 0
    )


def test_everything_of_the_other_contact_moves_to_the_kept_one(
    session: Session, factory: Factory
) -> None:
    manager = factory.user(role="manager")
    keep = factory.contact(
        name="", number="+12025550111", email=None, fields={"company": "", "plan": "gold"}
    )
    other = factory.contact(
        name="Ann Other",
        number="+12025550112",
        email="ann@example.com",
        timezone="America/Denver",
        fields={"company": "Acme", "plan": "free"},
    )
    other.numbers.append(ContactNumber(number="+12025550113", label="work"))
    conversation = factory.conversation(contact=other)
    channel_id = conversation.channel_id
    session.add_all(
        [
            Message(
                conversation_id=conversation.id,
                contact_id=other.id,
                channel_id=channel_id,
                direction="inbound",
                body="hello",
                from_number="+12025550112",
                to_number="+14155550000",
                provider="dev",
                status="received",
            ),
            Message(
                conversation_id=None,
                contact_id=other.id,
                channel_id=channel_id,
                direction="outbound",
                body="welcome",
                from_number="+14155550000",
                to_number="+12025550112",
                provider="dev",
                status="sent",
            ),
            ConsentRecord(
                number="+12025550112", action="opt_in", method="web", contact_id=other.id
            ),
            BlockedNumber(contact_id=other.id, reason="spam"),
        ]
    )
    add_contact_event(session, contact=other, kind=EventKind.CALL, summary="Called us")
    session.commit()
    other_id, keep_id = other.id, keep.id
    before = {
        m: _count(session, m, keep_id) + _count(session, m, other_id)
        for m in (ContactNumber, Conversation, Message, ContactEvent, ConsentRecord)
    }

    result = merge_contacts(
        session,
        keep_id=keep_id,
        other_id=other_id,
        scope=visibility.EVERYTHING,
        actor_id=manager.id,
    )
    session.commit()
    session.expire_all()

    assert session.get(Contact, other_id) is None
    kept = session.get_one(Contact, keep_id)
    for model, total in before.items():
        extra = 1 if model is ContactEvent else 0  # the "merged" entry of the log
        assert _count(session, model, keep_id) == total + extra, model
        assert _count(session, model, other_id) == 0, model
    assert sorted(n.number for n in kept.numbers) == [
        "+12025550111",
        "+12025550112",
        "+12025550113",
    ]
    assert session.scalar(select(BlockedNumber.contact_id)) == keep_id
    # Empty details filled; what the kept contact had wins.
    assert (kept.name, kept.email, kept.timezone) == (
        "Ann Other",
        "ann@example.com",
        "America/Denver",
    )
    assert kept.fields == {"company": "Acme", "plan": "gold"}
    assert set(result.filled) == {"name", "email", "timezone", "fields.company"}
    assert result.moved["conversations"] == 1 and result.moved["numbers"] == 2
    assert result.moved["messages"] == 2 and result.moved["blocks"] == 1
    # Audited and logged.
    entry = session.scalars(select(AuditLog).where(AuditLog.action == AUDIT_ACTION)).one()
    assert entry.actor_id == manager.id and entry.target == f"contact {keep_id}"
    assert (
        entry.details["merged_id"] == other_id
        and entry.details["via"] == "web"
        and entry.details["moved"] == result.moved
    )
    logged = session.scalars(
        select(ContactEvent).where(ContactEvent.kind == EventKind.MERGED)
    ).one()
    assert logged.contact_id == keep_id and "Ann Other" in logged.summary
    # Search finds the kept contact's conversation by the other's name and number.
    for query in ("Ann Other", "2025550113"):
        found = session.scalars(select(Conversation.id).where(search_clause(session, query)))
        assert list(found) == [conversation.id], query


def test_an_opted_out_contact_keeps_the_merged_one_opted_out(
    session: Session, factory: Factory
) -> None:
    keep = factory.contact()
    other = factory.contact(opted_out=True)
    merge_contacts(
        session, keep_id=keep.id, other_id=other.id, scope=visibility.EVERYTHING, actor_id=None
    )
    session.commit()
    assert session.get_one(Contact, keep.id).opted_out is True


def test_a_contact_cannot_be_merged_with_itself(session: Session, factory: Factory) -> None:
    contact = factory.contact()
    with pytest.raises(MergeError) as refused:
        merge_contacts(
            session,
            keep_id=contact.id,
            other_id=contact.id,
            scope=visibility.EVERYTHING,
            actor_id=None,
        )
    assert not refused.value.not_found
    assert session.get(Contact, contact.id) is not None


def test_a_contact_the_caller_cannot_see_is_not_merged(session: Session, factory: Factory) -> None:
    mine, theirs = factory.inbox(), factory.inbox()
    keep = factory.conversation(channel=factory.channel(default_inbox=mine)).contact
    hidden = factory.conversation(channel=factory.channel(default_inbox=theirs)).contact
    scope = visibility.Scope(inbox_ids=frozenset({mine.id}))
    for keep_id, other_id in ((keep.id, hidden.id), (hidden.id, keep.id)):
        with pytest.raises(MergeError) as refused:
            merge_contacts(session, keep_id=keep_id, other_id=other_id, scope=scope, actor_id=None)
        assert refused.value.not_found
    session.rollback()
    assert session.get(Contact, hidden.id) is not None
    assert session.scalar(select(func.count()).select_from(AuditLog)) == 0
