"""Tags in the browser: add one in the header with autocomplete, see it in the list, filter by
it, remove it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from inbox.models import Conversation
from inbox.services import tags
from inbox.services.conversations import assign
from tests import screenshots
from tests.web.conftest import World, text_in
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    chromium,
    contexts,
    open_page,
    server,
    wait_live,
)

pytestmark = pytest.mark.browser


def test_tag_with_autocomplete_then_filter_then_remove(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    world: World,
):
    earlier = text_in(sessions, world, body="Order 1182 arrived", number="+12025550122")
    conversation = text_in(sessions, world, body="Do you ship to Canada?", number="+12025550111")
    with sessions() as session:
        row = session.get(Conversation, earlier.id)
        assert row is not None
        tags.add_tag(session, conversation=row, tag="vip-customer")
        session.commit()

    page = open_page(chromium, contexts, server, "agent@example.com")
    page.goto(f"/inbox/{conversation.id}")
    wait_live(page)
    # Autocomplete: typing offers the tag already in use.
    page.click("#tag-input")
    page.keyboard.type("vip")
    expect(page.locator("#tag-suggestions option[value='vip-customer']")).to_have_count(1)
    page.fill("#tag-input", "vip-customer")
    page.press("#tag-input", "Enter")
    expect(page.locator(".tag-chip[data-tag='vip-customer']")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("Tagged vip-customer by Alex Agent")
    item = page.locator(f".conv-item[data-id='{conversation.id}']")
    expect(item.locator(".conv-tag")).to_have_text("vip-customer")

    expect(page.locator("#tag-input")).to_have_value("")  # ready for the next tag

    # A live refresh of the header (a teammate assigns it meanwhile) keeps what is being typed.
    page.fill("#tag-input", "draft")
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        assert row is not None
        assign(session, conversation=row, assignee_id=world.manager.id, actor_id=world.manager.id)
        session.commit()
    expect(page.locator("#assign-select")).to_have_value(str(world.manager.id))
    expect(page.locator("#tag-input")).to_have_value("draft")

    # A bad tag is refused with the reason, and stays there to be fixed.
    page.fill("#tag-input", "a,b")
    page.press("#tag-input", "Enter")
    expect(page.locator(".toast")).to_contain_text("commas")
    expect(page.locator("#tag-input")).to_have_value("a,b")

    # Filter the list by another tag, then by this one.
    with sessions() as session:
        row = session.get(Conversation, earlier.id)
        assert row is not None
        tags.remove_tag(session, conversation=row, tag="vip-customer")
        tags.add_tag(session, conversation=row, tag="wholesale")
        session.commit()
    page.fill("#tag-filter", "wholesale")
    page.press("#tag-filter", "Enter")
    expect(item).to_have_count(0)
    expect(page.locator(f".conv-item[data-id='{earlier.id}']")).to_be_visible()
    page.fill("#tag-filter", "vip-customer")
    page.press("#tag-filter", "Enter")
    expect(item).to_be_visible()
    expect(page.locator(f".conv-item[data-id='{earlier.id}']")).to_have_count(0)
    screenshots.shot(page, "tags")
    # The list view's Tags column and the cards show it; the tag filter is there too.
    page.goto("/list?tag=vip-customer")
    expect(page.locator(f"tr[data-id='{conversation.id}'] .col-tags")).to_have_text("vip-customer")
    expect(page.locator(f"tr[data-id='{earlier.id}']")).to_have_count(0)
    screenshots.shot(page, "tags-list")
    page.goto("/cards")
    card = page.locator(f".conv-card[data-id='{conversation.id}'] .conv-tag")
    expect(card).to_have_text("vip-customer")
    page.goto(f"/inbox/{conversation.id}?tag=vip-customer")

    # Remove it: gone from the header, and from the filtered list.
    page.click(".tag-chip[data-tag='vip-customer'] .tag-remove")
    expect(page.locator(".tag-chip")).to_have_count(0)
    expect(item).to_have_count(0)
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        assert row is not None and row.tags == []
