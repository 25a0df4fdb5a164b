"""Snooze and send later in Chromium: the agent snoozes a conversation from the header menu and
it leaves the open list; when its time comes (the store step the workflow's timer runs) it
comes back live, unread. A reply scheduled from the composer shows "Scheduled for …" and its
Cancel stops it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inbox.models import Conversation, Message, MessageStatus
from inbox.services import snooze
from tests.web.conftest import World, text_in
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    LIVE,
    chromium,
    contexts,
    open_page,
    server,
)

pytestmark = pytest.mark.browser


def test_snooze_then_wake_brings_it_back_unread(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    world: World,
):
    conversation = text_in(sessions, world, body="Call me next week")
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.goto(f"/inbox/{conversation.id}")
    page.wait_for_load_state("load")
    row = page.locator(f'#conv-items [data-id="{conversation.id}"]')
    expect(row).to_be_visible(timeout=LIVE)
    page.locator("#snooze-menu summary").click()
    expect(page.locator("#snooze-tomorrow")).to_be_visible()
    page.fill("#snooze-until", "2099-06-01T09:30")
    page.click("#snooze-at")
    expect(page.locator("#snoozed-pill")).to_contain_text(
        "Snoozed until Mon 01 Jun, 09:30", timeout=LIVE
    )
    expect(page.locator("#timeline")).to_contain_text("Snoozed until Mon 01 Jun, 09:30")
    expect(row).to_have_count(0, timeout=LIVE)  # out of All open
    # Its time comes: what the workflow's timer runs (tests/rules/test_snooze_workflow.py).
    with sessions() as session:
        convo = session.get_one(Conversation, conversation.id)
        assert convo.snoozed_until is not None
        assert snooze.wake(session, conversation=convo, until=convo.snoozed_until)
        session.commit()
    expect(page.locator("#snooze-menu")).to_be_visible(timeout=LIVE)
    expect(page.locator("#timeline")).to_contain_text("Back from snooze")
    expect(row).to_be_visible(timeout=LIVE)
    page.goto("/inbox?view=unread")
    expect(page.locator(f'#conv-items [data-id="{conversation.id}"]')).to_have_class(
        re.compile("unread"), timeout=LIVE
    )


def test_a_scheduled_reply_shows_and_can_be_cancelled(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    world: World,
):
    conversation = text_in(sessions, world, body="Remind me on Monday")
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.goto(f"/inbox/{conversation.id}")
    page.wait_for_load_state("load")
    page.fill("#composer-body", "Good morning, here is your reminder")
    page.fill("#send-at", "2099-06-01T08:15")
    page.click("#send")
    held = page.locator("#timeline .held").last
    expect(held).to_contain_text("Scheduled for Mon 01 Jun, 08:15", timeout=LIVE)
    expect(page.locator("#send-at")).to_have_value("")
    held.locator("button", has_text="Cancel").click()
    expect(page.locator("#timeline .held")).to_have_count(0, timeout=LIVE)
    with sessions() as session:
        message = session.scalars(
            select(Message).where(Message.body == "Good morning, here is your reminder")
        ).one()
    assert message.status == MessageStatus.CANCELLED
