"""Canned replies in Chromium: the agent types ``/ship`` in the composer, picks "Shipping
times" from the picker, the reply's body replaces ``/ship``, and sending it delivers the text
with its merge fields filled in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inbox.models import CannedScope, Contact, Conversation, Direction, Message
from inbox.services import canned_replies
from tests.web.conftest import World, text_in
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    LIVE,
    chromium,
    contexts,
    open_page,
    server,
    shot,
)

pytestmark = pytest.mark.browser

BODY = "Hi {{ contact.first_name }}, orders ship within 2 business days. {{ agent.first_name }}"
SENT = "Hi Dana, orders ship within 2 business days. Alex"


def test_slash_ship_inserts_shipping_times_and_sends_it_rendered(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    world: World,
):
    conversation = text_in(sessions, world, body="When will my order arrive?")
    with sessions() as session:
        convo = session.get_one(Conversation, conversation.id)
        session.get_one(Contact, convo.contact_id).name = "Dana Scully"
        canned_replies.create(session, scope=CannedScope.SHARED, title="Shipping times", body=BODY)
        canned_replies.create(session, scope=CannedScope.SHARED, title="Refunds", body="Refund")
        canned_replies.create(session, scope=CannedScope.INBOX, inbox_id=world.support.id,
                              title="Shipping (Support)", body="Support only")  # fmt: skip
        session.commit()
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.goto(f"/inbox/{conversation.id}")
    page.wait_for_load_state("load")
    box = page.locator("#composer-body")
    box.click()
    page.keyboard.type("Thanks! /ship")
    picker = page.locator("#canned-picker")
    expect(picker).to_be_visible(timeout=LIVE)
    options = picker.locator(".canned-option")
    # Only what this conversation's inbox (Sales) may use, narrowed by what was typed.
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Shipping times")
    expect(options.first).to_have_class(re.compile("active"))
    shot(page, "canned-reply-picker")
    page.keyboard.press("Enter")
    expect(picker).to_be_hidden()
    expect(box).to_have_value("Thanks! " + BODY)
    # Typing on after "/" that matches nothing says so; Escape closes the picker.
    page.keyboard.type(" /zzz")
    # The answer for the whole word, not an earlier one for "/z" that is still swapped in
    # hidden (the picker waits for the word typed now): Escape goes to the open picker.
    none = picker.locator(".canned-none")
    expect(none).to_contain_text("No canned reply matches “/zzz”", timeout=LIVE)
    expect(picker).to_be_visible()
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    for _ in range(len(" /zzz")):
        page.keyboard.press("Backspace")
    expect(box).to_have_value("Thanks! " + BODY)
    page.click("#send")
    expect(page.locator("#timeline .msg-outbound .bubble").last).to_contain_text(SENT)
    expect(box).to_have_value("")
    with sessions() as session:
        sent = session.scalars(
            select(Message.body).where(
                Message.conversation_id == conversation.id, Message.direction == Direction.OUTBOUND
            )
        ).one()
    assert sent == "Thanks! " + SENT


def test_clicking_a_reply_inserts_it(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    world: World,
):
    conversation = text_in(sessions, world, body="Hello?")
    with sessions() as session:
        canned_replies.create(session, scope=CannedScope.PERSONAL, owner_id=world.agent.id,
                              title="My sign-off", body="Cheers, Alex")  # fmt: skip
        session.commit()
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.goto(f"/inbox/{conversation.id}")
    page.wait_for_load_state("load")
    page.locator("#composer-body").click()
    page.keyboard.type("/")
    option = page.locator("#canned-picker .canned-option", has_text="My sign-off")
    expect(option).to_be_visible(timeout=LIVE)
    option.click()
    expect(page.locator("#composer-body")).to_have_value("Cheers, Alex")
    expect(page.locator("#canned-picker")).to_be_hidden()


def test_an_admin_adds_an_inbox_reply_in_settings(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    world: World,
):
    page = open_page(chromium, contexts, server, "admin@example.com")
    page.goto("/settings/canned-replies")
    page.select_option("#canned-inbox", label="Inbox: Sales")
    page.fill("#canned-title", "Pricing")
    page.fill("#canned-body", "Plans start at $10 a month, {{ contact.first_name }}.")
    page.click("#canned-add")
    expect(page.locator("#canned-replies")).to_contain_text("Sales")
    expect(page.locator("#canned-replies input[name=title]")).to_have_value("Pricing")
    page.click("#canned-add")  # the browser refuses the empty form itself
    page.fill("#canned-title", "pricing")
    page.fill("#canned-body", "Again")
    page.select_option("#canned-inbox", label="Inbox: Sales")
    page.click("#canned-add")
    expect(page.locator("#settings-error")).to_contain_text("another reply of this inbox")
    shot(page, "settings-canned-replies")
