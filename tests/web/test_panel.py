"""The right panel's in-place edits over HTTP: type-aware inputs with their labels, refusals
shown next to the input (422, nothing stored), changes on the timeline, numbers added and
removed, and the minutes since the last message each way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from inbox.models import Conversation, utcnow
from inbox.services.admin import fields
from tests.web.conftest import World, text_in


@pytest.fixture
def convo(sessions: sessionmaker[Session], session: Session, world: World) -> Conversation:
    fields.create_field(
        session, entity="contact", key="plan", label="Plan", type="choice", choices=["free", "pro"]
    )
    fields.create_field(session, entity="contact", key="seats", label="Seats", type="number")
    fields.create_field(session, entity="conversation", key="due", label="Due", type="date")
    session.commit()
    return text_in(sessions, world, body="Hello there", number="+12025550140")


def _reload(sessions: sessionmaker[Session], convo: Conversation) -> Conversation:
    with sessions() as s:
        found = s.get_one(Conversation, convo.id)
        _ = found.contact.numbers
        s.expunge_all()
        return found


def test_the_panel_shows_each_field_with_its_label_and_input(signed_in, convo, sessions):
    with sessions() as s:
        row = s.get_one(Conversation, convo.id)
        row.last_inbound_at = utcnow() - timedelta(minutes=12, seconds=5)
        row.last_outbound_at = utcnow() - timedelta(minutes=3, seconds=5)
        s.commit()
    page = signed_in("agent@example.com").get(f"/inbox/{convo.id}").text
    assert '<label for="field-contact-plan">Plan</label>' in page
    assert '<select name="value" id="field-contact-plan"' in page
    assert 'type="number" step="any" name="value" id="field-contact-seats"' in page
    assert 'type="date" name="value" id="field-conversation-due"' in page
    assert "Last from contact 12m ago · Last from us 3m ago" in page
    assert 'id="number-add"' in page and "+12025550140" in page


def test_a_number_field_refuses_text_and_shows_why(signed_in, convo, sessions):
    agent = signed_in("agent@example.com")
    refused = agent.post(f"/conversations/{convo.id}/fields/contact/seats", {"value": "abc"})
    assert refused.status_code == 422
    assert "Seats: &#39;abc&#39; is not a number" in refused.text
    assert 'class="field-error"' in refused.text
    assert 'value="abc"' in refused.text  # what was typed stays, to be corrected
    assert _reload(sessions, convo).contact.fields == {}


def test_a_choice_refuses_a_value_not_in_its_choices(signed_in, convo, sessions):
    agent = signed_in("agent@example.com")
    refused = agent.post(f"/conversations/{convo.id}/fields/contact/plan", {"value": "gold"})
    assert refused.status_code == 422
    assert "Plan: choose one of free, pro" in refused.text
    assert _reload(sessions, convo).contact.fields == {}


def test_a_saved_field_shows_in_the_panel_and_on_the_timeline(signed_in, convo, sessions):
    agent = signed_in("agent@example.com")
    saved = agent.post(f"/conversations/{convo.id}/fields/contact/plan", {"value": "pro"})
    assert saved.status_code == 200
    assert '<option value="pro" selected>' in saved.text
    assert "Contact Plan set to pro by Alex Agent" in saved.text  # the timeline, out of band
    agent.post(f"/conversations/{convo.id}/fields/conversation/due", {"value": "2026-12-24"})
    agent.post(f"/conversations/{convo.id}/fields/contact/seats", {"value": "7"})
    row = _reload(sessions, convo)
    assert row.contact.fields == {"plan": "pro", "seats": 7}
    assert row.fields == {"due": "2026-12-24"}


def test_an_undefined_field_is_not_found(signed_in, convo):
    agent = signed_in("agent@example.com")
    assert (
        agent.post(f"/conversations/{convo.id}/fields/contact/due", {"value": "x"}).status_code
        == 404
    )
    assert (
        agent.post(f"/conversations/{convo.id}/fields/team/plan", {"value": "x"}).status_code == 404
    )


def test_numbers_are_added_refused_and_removed(signed_in, convo, sessions, factory):
    factory.contact(number="+12025550141")
    agent = signed_in("agent@example.com")
    added = agent.post(
        f"/conversations/{convo.id}/contact/numbers", {"number": "202 555 0177", "label": "work"}
    )
    assert added.status_code == 200
    assert "+12025550177" in added.text and "Number +12025550177 (work) added" in added.text

    taken = agent.post(
        f"/conversations/{convo.id}/contact/numbers", {"number": "+12025550141", "label": "home"}
    )
    assert taken.status_code == 422
    assert "+12025550141 already belongs to another contact" in taken.text
    assert 'value="+12025550141"' in taken.text

    numbers = {n.number: n.id for n in _reload(sessions, convo).contact.numbers}
    in_use = agent.post(
        f"/conversations/{convo.id}/contact/numbers/{numbers['+12025550140']}/delete"
    )
    assert in_use.status_code == 422
    assert "in use by open conversation" in in_use.text

    removed = agent.post(
        f"/conversations/{convo.id}/contact/numbers/{numbers['+12025550177']}/delete"
    )
    assert removed.status_code == 200
    assert [n.number for n in _reload(sessions, convo).contact.numbers] == ["+12025550140"]
