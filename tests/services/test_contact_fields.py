"""The right panel's edits: custom field values checked by type and logged, contact numbers
added and removed with their refusals, and no workflow signal for any of them."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import ContactEvent, ConversationStatus, EventKind, PendingSignal
from inbox.services import contact_fields as svc
from inbox.services.admin import fields
from inbox.services.contact_fields import PanelError, UnknownField
from inbox.services.conversations import ConversationActionError, add_contact_event


@pytest.fixture
def defined(session: Session) -> None:
    fields.create_field(
        session,
        entity="contact",
        key="plan",
        label="Plan",
        type="choice",
        choices=["free", "pro"],
    )
    fields.create_field(session, entity="contact", key="seats", label="Seats", type="number")
    fields.create_field(session, entity="conversation", key="due", label="Due date", type="date")
    fields.create_field(session, entity="conversation", key="ref", label="Order ref", type="text")
    session.commit()


def _events(session: Session, kind: str) -> list[ContactEvent]:
    return list(
        session.scalars(
            select(ContactEvent).where(ContactEvent.kind == kind).order_by(ContactEvent.id)
        )
    )


def test_field_values_are_typed_stored_and_logged(factory, session, defined):
    dana = factory.user(name="Dana")
    convo = factory.conversation()
    svc.set_field(session, conversation=convo, entity="contact", key="plan", raw="pro", actor=dana)
    svc.set_field(
        session, conversation=convo, entity="contact", key="seats", raw=" 12 ", actor=dana
    )
    svc.set_field(
        session, conversation=convo, entity="conversation", key="due", raw="2026-12-24", actor=dana
    )
    session.commit()

    assert convo.contact.fields == {"plan": "pro", "seats": 12}
    assert convo.fields == {"due": "2026-12-24"}
    logged = _events(session, EventKind.FIELD_CHANGED)
    assert [e.summary for e in logged] == [
        "Contact Plan set to pro by Dana",
        "Contact Seats set to 12 by Dana",
        "Conversation Due date set to 2026-12-24 by Dana",
    ]
    assert logged[1].data == {"field": "contact.fields.seats", "from": None, "to": 12}
    assert all(e.conversation_id == convo.id and e.author_id == dana.id for e in logged)
    # Rules read fields from the database when they run: the workflow is not signalled.
    assert session.scalars(select(PendingSignal)).first() is None


def test_blank_clears_and_an_unchanged_value_logs_nothing(factory, session, defined):
    dana = factory.user(name="Dana")
    convo = factory.conversation()
    svc.set_field(
        session, conversation=convo, entity="conversation", key="ref", raw="A1", actor=dana
    )
    again = svc.set_field(
        session, conversation=convo, entity="conversation", key="ref", raw="A1", actor=dana
    )
    assert again is None
    cleared = svc.set_field(
        session, conversation=convo, entity="conversation", key="ref", raw="", actor=dana
    )
    session.commit()
    assert convo.fields == {}
    assert cleared is not None and cleared.summary == "Conversation Order ref cleared by Dana"
    assert len(_events(session, EventKind.FIELD_CHANGED)) == 2


@pytest.mark.parametrize(
    ("entity", "key", "raw", "message"),
    [
        ("contact", "seats", "abc", "Seats: 'abc' is not a number"),
        ("contact", "plan", "gold", "Plan: choose one of free, pro"),
        (
            "conversation",
            "due",
            "24/12/2026",
            "Due date: '24/12/2026' is not a date like 2024-05-01",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(factory, session, defined, entity, key, raw, message):
    convo = factory.conversation()
    with pytest.raises(PanelError) as refused:
        svc.set_field(
            session, conversation=convo, entity=entity, key=key, raw=raw, actor=factory.user()
        )
    assert str(refused.value) == message
    assert refused.value.field == key
    assert convo.contact.fields == {} and convo.fields == {}
    assert _events(session, EventKind.FIELD_CHANGED) == []


def test_an_undefined_field_is_unknown(factory, session, defined):
    convo = factory.conversation()
    with pytest.raises(UnknownField):
        svc.set_field(
            session, conversation=convo, entity="contact", key="due", raw="x", actor=factory.user()
        )


def test_numbers_are_added_in_e164_with_a_label_and_removed(factory, session):
    dana = factory.user(name="Dana")
    convo = factory.conversation()
    svc.add_number(session, conversation=convo, raw="(415) 555-0177", label="work", actor=dana)
    session.commit()
    added = convo.contact.numbers[-1]
    assert (added.number, added.label) == ("+14155550177", "work")

    svc.remove_number(session, conversation=convo, number_id=added.id, actor=dana)
    session.commit()
    assert [n.number for n in convo.contact.numbers] == [convo.contact_number]
    assert [e.summary for e in _events(session, EventKind.NUMBER_ADDED)] == [
        "Number +14155550177 (work) added by Dana"
    ]
    assert [e.summary for e in _events(session, EventKind.NUMBER_REMOVED)] == [
        "Number +14155550177 removed by Dana"
    ]


def test_number_refusals(factory, session):
    dana = factory.user(name="Dana")
    other = factory.contact(number="+14155550188")
    convo = factory.conversation()
    with pytest.raises(PanelError, match=r"\+14155550188 already belongs to another contact"):
        svc.add_number(session, conversation=convo, raw="+14155550188", label="home", actor=dana)
    with pytest.raises(PanelError, match="already belongs to this contact"):
        svc.add_number(
            session, conversation=convo, raw=convo.contact_number, label="home", actor=dana
        )
    with pytest.raises(PanelError, match="not a phone number") as bad:
        svc.add_number(session, conversation=convo, raw="call me", label="home", actor=dana)
    assert bad.value.field == "number"
    with pytest.raises(PanelError, match="label: one of mobile, work, home, other"):
        svc.add_number(session, conversation=convo, raw="+14155550199", label="pager", actor=dana)
    only = convo.contact.numbers[0]
    with pytest.raises(PanelError, match="is the contact's only number"):
        svc.remove_number(session, conversation=convo, number_id=only.id, actor=dana)
    with pytest.raises(PanelError, match="no such number"):
        svc.remove_number(session, conversation=convo, number_id=other.numbers[0].id, actor=dana)
    assert session.scalars(select(ContactEvent)).first() is None


def test_the_number_an_open_conversation_uses_stays_until_it_closes(factory, session):
    dana = factory.user(name="Dana")
    convo = factory.conversation()
    svc.add_number(session, conversation=convo, raw="+14155550166", label="home", actor=dana)
    used = convo.contact.numbers[0]
    with pytest.raises(PanelError, match=rf"in use by open conversation #{convo.id}"):
        svc.remove_number(session, conversation=convo, number_id=used.id, actor=dana)
    convo.status = ConversationStatus.CLOSED
    svc.remove_number(session, conversation=convo, number_id=used.id, actor=dana)
    session.commit()
    assert [n.number for n in convo.contact.numbers] == ["+14155550166"]


def test_change_kinds_cannot_be_logged_by_hand(factory, session):
    convo = factory.conversation()
    with pytest.raises(ConversationActionError, match="cannot be logged"):
        add_contact_event(session, contact=convo.contact, kind=EventKind.NUMBER_ADDED)
