"""Consent as an agent meets it in the browser: a contact's STOP turns the composer off with the
reason, live; a revocation in other words asks the agent to decide; a message held for quiet
hours shows when it goes and can be cancelled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inbox.models import ConsentMethod, ConsentState, Message, MessageStatus, utcnow
from inbox.services.outbound import queue_message
from tests import screenshots
from tests.web.conftest import World, text_in
from tests.web.test_browser import LIVE, chromium, contexts, open_page, server, wait_live  # noqa: F401

pytestmark = pytest.mark.browser


def test_stop_turns_the_composer_off_live_and_start_turns_it_back_on(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    world: World,
):
    number = "+12025550142"
    conversation = text_in(sessions, world, body="Is the shop open on Sunday?", number=number)
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.goto(f"/inbox/{conversation.id}")
    wait_live(page)
    expect(page.locator("#composer-body")).to_be_enabled()
    text_in(sessions, world, body="STOP", number=number)
    banner = page.locator("#opted-out-banner")
    expect(banner).to_contain_text("Opted out", timeout=LIVE)
    expect(banner).to_contain_text("STOP")
    expect(page.locator("#composer-body")).to_be_disabled()
    expect(page.locator("#send")).to_be_disabled()
    # The one confirmation went out (the consent purpose passes the guard), nothing else can.
    expect(page.locator("#timeline .msg-outbound .bubble").last).to_contain_text(
        "unsubscribed", timeout=LIVE
    )
    screenshots.shot(page, "consent-opted-out")
    text_in(sessions, world, body="START", number=number)
    expect(banner).to_be_hidden(timeout=LIVE)
    expect(page.locator("#composer-body")).to_be_enabled()
    with sessions() as session:
        state = session.scalars(select(ConsentState).where(ConsentState.number == number)).one()
        assert state.opted_out is False


def test_a_possible_opt_out_is_decided_by_the_agent(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    world: World,
):
    number = "+12025550143"
    conversation = text_in(sessions, world, body="Please stop texting me", number=number)
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.goto(f"/inbox/{conversation.id}")
    wait_live(page)
    possible = page.locator("#possible-opt-out")
    expect(possible).to_contain_text("Please stop texting me")
    expect(page.locator("#composer-body")).to_be_enabled()  # not opted out until decided
    page.click("#record-opt-out")
    expect(possible).to_be_hidden(timeout=LIVE)
    expect(page.locator("#opted-out-banner")).to_be_visible(timeout=LIVE)
    expect(page.locator("#composer-body")).to_be_disabled()
    with sessions() as session:
        state = session.scalars(select(ConsentState).where(ConsentState.number == number)).one()
        assert state.opted_out is True
        assert state.method == ConsentMethod.MANUAL


def test_a_held_message_shows_when_it_goes_and_can_be_cancelled(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    world: World,
):
    conversation = text_in(sessions, world, body="Send me the brochure", number="+12025550144")
    with sessions() as session:
        convo = session.merge(conversation)
        message = queue_message(
            session,
            conversation=convo,
            body="Here is the brochure",
            held_until=utcnow() + timedelta(hours=9),
        )
        assert message.status == MessageStatus.HELD
        session.commit()
        message_id = message.id
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.goto(f"/inbox/{conversation.id}")
    held = page.locator(f"#held-{message_id}")
    # Not a rule's text held for quiet hours: a message scheduled to go later.
    expect(held).to_contain_text("Scheduled for")
    held.locator("button", has_text="Cancel").click()
    expect(held).to_be_hidden(timeout=LIVE)
    expect(page.locator("#timeline .failure").last).to_contain_text("Cancelled by")
    with sessions() as session:
        assert session.get(Message, message_id).status == MessageStatus.CANCELLED
