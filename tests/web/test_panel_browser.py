"""The right panel in the browser: a choice field and a number field edited in place, a
number added (and a refused one shown inline), then removed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from inbox.models import Conversation, utcnow
from inbox.services.admin import fields
from tests import screenshots
from tests.web.conftest import World, text_in
from tests.web.test_browser import LIVE, chromium, contexts, open_page, server  # noqa: F401

pytestmark = pytest.mark.browser


def test_fields_edited_in_place_and_a_number_added_then_removed(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    session: Session,
    world: World,
):
    fields.create_field(
        session, entity="contact", key="plan", label="Plan", type="choice",
        choices=["free", "pro", "enterprise"],
    )  # fmt: skip
    fields.create_field(session, entity="contact", key="seats", label="Seats", type="number")
    fields.create_field(session, entity="conversation", key="order_ref", label="Order", type="text")
    session.commit()
    convo = text_in(sessions, world, body="Can we add two more seats?", number="+12025550144")
    with sessions() as s:
        row = s.get_one(Conversation, convo.id)
        row.contact.name = "Dana Reyes"
        # The clocks the conversation's workflow writes (no worker runs here).
        row.last_inbound_at = utcnow() - timedelta(minutes=12, seconds=5)
        row.last_outbound_at = utcnow() - timedelta(minutes=3, seconds=5)
        s.commit()
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.goto(f"/inbox/{convo.id}")
    page.wait_for_load_state("load")
    timeline = page.locator("#timeline")

    page.select_option("#field-contact-plan", "pro")
    expect(timeline).to_contain_text("Contact Plan set to pro by Alex Agent", timeout=LIVE)
    expect(page.locator("#field-contact-plan")).to_have_value("pro")

    page.fill("#field-contact-seats", "12")
    page.press("#field-contact-seats", "Enter")
    expect(timeline).to_contain_text("Contact Seats set to 12 by Alex Agent", timeout=LIVE)

    page.fill("#field-conversation-order_ref", "A-1042")
    page.press("#field-conversation-order_ref", "Enter")
    expect(timeline).to_contain_text("Conversation Order set to A-1042", timeout=LIVE)

    # A number the contact has already: refused next to the form, what was typed kept.
    page.fill("#new-number", "+1 202 555 0144")
    page.click("#add-number")
    expect(page.locator("#numbers-error")).to_contain_text(
        "+12025550144 already belongs to this contact", timeout=LIVE
    )
    expect(page.locator("#new-number")).to_have_value("+1 202 555 0144")
    page.fill("#new-number", "call me")
    page.click("#add-number")
    expect(page.locator("#numbers-error")).to_contain_text("is not a phone number", timeout=LIVE)

    page.fill("#new-number", "(202) 555-0199")
    page.select_option("#new-number-label", "work")
    page.click("#add-number")
    added = page.locator("#contact-numbers li[data-number='+12025550199']")
    expect(added).to_contain_text("work", timeout=LIVE)
    expect(page.locator("#numbers-error")).to_have_count(0)
    expect(page.locator("#new-number")).to_have_value("")  # cleared for the next one
    expect(page.locator("#detail-last-messages")).to_have_text(
        "Last from contact 12m ago · Last from us 3m ago"
    )
    screenshots.shot(page, "panel")  # the README's docs/screenshots/panel.png

    added.locator("button.remove-number").click()
    expect(added).to_have_count(0, timeout=LIVE)
    expect(timeline).to_contain_text("Number +12025550199 removed by Alex Agent")
    with sessions() as s:
        row = s.get_one(Conversation, convo.id)
        assert row.contact.fields == {"plan": "pro", "seats": 12}
        assert row.fields == {"order_ref": "A-1042"}
        assert [n.number for n in row.contact.numbers] == ["+12025550144"]
