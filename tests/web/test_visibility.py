"""An agent who is not a member of an inbox reaches nothing of it: not through the
new-conversation picker, and not through a contact log once they talk to the same contact."""

from __future__ import annotations

from sqlalchemy import select

from inbox.models import Conversation, EventKind
from inbox.services.conversations import add_contact_event
from tests.web.conftest import text_in


def _sales_contact_with_a_note(sessions, session, world):
    """A contact who texted the main line (Sales), with an internal note there."""
    convo = text_in(sessions, world, body="about my order", number="+12025550170")
    convo = session.get(Conversation, convo.id)
    convo.contact.name = "Sally Sales"
    add_contact_event(
        session,
        contact=convo.contact,
        kind=EventKind.NOTE,
        summary="SALES-ONLY NOTE",
        conversation=convo,
    )
    session.commit()
    return convo


def test_the_picker_lists_only_contacts_the_agent_may_see(signed_in, sessions, session, world):
    convo = _sales_contact_with_a_note(sessions, session, world)
    outsider = signed_in("other@example.com")  # Support only
    member = signed_in("agent@example.com")  # Sales
    for q in ("", "Sally", "+1202555017"):
        assert "Sally Sales" not in outsider.get(f"/new/contacts?contact_q={q}", htmx=True).text
        assert "Sally Sales" in member.get(f"/new/contacts?contact_q={q}", htmx=True).text
    assert "Sally Sales" not in outsider.get(f"/new?contact_id={convo.contact_id}").text
    support_line = session.get(type(world.channel), world.channel.id)
    support_line.default_inbox_id = world.support.id
    session.commit()
    start = outsider.post(
        "/new",
        {"channel_id": world.channel.id, "contact_id": convo.contact_id, "number": "+12025550170"},
        htmx=False,
    )
    assert start.status_code == 422 and "Pick a contact" in start.text


def test_talking_to_the_same_contact_shows_none_of_the_other_inboxes_log(
    signed_in, sessions, session, world, factory
):
    convo = _sales_contact_with_a_note(sessions, session, world)
    convo.status = "closed"
    support_line = factory.channel(name="Support line", default_inbox=world.support)
    session.commit()
    outsider = signed_in("other@example.com")
    started = outsider.post(
        "/new",
        {"channel_id": support_line.id, "new_number": "+12025550170", "new_name": ""},
        htmx=False,
    )
    assert started.status_code == 303, started.text
    page = outsider.get(started.headers["location"])
    assert page.status_code == 200
    assert "SALES-ONLY NOTE" not in page.text and "about my order" not in page.text
    contact_page = outsider.get(f"/contacts/{convo.contact_id}")
    assert contact_page.status_code == 200 and "SALES-ONLY NOTE" not in contact_page.text
    ours = session.scalars(
        select(Conversation).where(Conversation.inbox_id == world.support.id)
    ).one()
    assert (
        f"/inbox/{convo.id}" not in contact_page.text and f"/inbox/{ours.id}" in contact_page.text
    )
