"""The contacts page and merging in the browser: a manager searches the contacts page, opens a
contact, picks the same person in the merge picker, confirms, and sees one contact with both
numbers and the merge in its log."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from inbox.models import Contact, ContactNumber
from tests import screenshots
from tests.web.conftest import World, text_in
from tests.web.test_browser import chromium, contexts, open_page, server  # noqa: F401

pytestmark = pytest.mark.browser


def test_search_open_and_merge_a_contact(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    world: World,
):
    conversation = text_in(
        sessions, world, body="Is the blue chair in stock?", number="+12025550191"
    )
    with sessions() as session:
        texted = session.get_one(Contact, conversation.contact_id)
        texted.name = "Jordan Lee"
        duplicate = Contact(
            name="",
            email="jordan@example.com",
            fields={"company": "Lee Furniture"},
            numbers=[ContactNumber(number="+12025550192", label="work")],
        )
        others = [
            Contact(name=f"Someone {n}", numbers=[ContactNumber(number=f"+1303555{n:04d}")])
            for n in range(8)
        ]
        session.add_all([duplicate, *others])
        session.commit()
        duplicate_id = duplicate.id

    page = open_page(chromium, contexts, server, "manager@example.com")
    page.click("#nav-contacts")
    expect(page).to_have_url(re.compile(r"/contacts$"))
    expect(page.locator(".contacts-table tbody tr")).to_have_count(10)
    page.fill("#contact-search", "jordan")
    expect(page.locator(".contacts-table tbody tr")).to_have_count(2)  # name and email match
    expect(page).to_have_url(re.compile(r"q=jordan"))
    screenshots.shot(page, "contacts")
    page.click(".contact-link:has-text('Jordan Lee')")
    expect(page.locator("h1")).to_have_text("Jordan Lee")

    page.click("#merge-contact")
    page.fill("#merge-search", "5550192")
    expect(page.locator(".merge-candidate")).to_have_count(1)
    page.click(".merge-candidate")
    expect(page.locator("#merge-confirm")).to_contain_text("jordan@example.com")
    screenshots.shot(page, "contact-merge")
    page.click("#merge-confirm-button")

    expect(page).to_have_url(re.compile(rf"/contacts/{conversation.contact_id}$"))
    card = page.locator(".contact-card")
    expect(card).to_contain_text("+12025550191")
    expect(card).to_contain_text("+12025550192")
    expect(card).to_contain_text("jordan@example.com")
    expect(card).to_contain_text("Lee Furniture")
    expect(page.locator("#contact-log .event-merged")).to_contain_text(f"contact {duplicate_id}")
    page.goto("/contacts?q=jordan")
    expect(page.locator(".contacts-table tbody tr")).to_have_count(1)
