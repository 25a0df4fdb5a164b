"""At phone width (360 px) the inbox is two screens: the list, then the conversation with a way
back; the top bar fits."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests import screenshots
from tests.web.conftest import World, text_in
from tests.web.test_browser import chromium, contexts, open_page, server  # noqa: F401

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


def test_list_then_conversation_then_back_at_phone_width(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions,
    world: World,
):
    convo = text_in(sessions, world, body="Do you deliver on Saturdays?")
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.set_viewport_size(PHONE)
    page.goto("/inbox")
    page.wait_for_load_state("load")
    item = page.locator(f".conv-item[data-id='{convo.id}']")
    expect(item).to_be_visible()
    expect(page.locator("#conversation-pane")).to_be_hidden()
    # Nothing runs off the side of the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshots.shot(page, "phone-list")

    item.click()
    expect(page.locator("#conv-header")).to_be_visible()
    expect(page.locator(".panel-left")).to_be_hidden()
    expect(page.locator("#composer-body")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshots.shot(page, "phone-conversation")

    page.locator("#phone-back").click()
    expect(page).to_have_url(re.compile(r"/inbox(\?.*)?$"))
    expect(item).to_be_visible()
    expect(page.locator("#conversation-pane")).to_be_hidden()


def test_an_admins_top_bar_fits_and_signing_out_is_on_the_account_page(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    world: World,
):
    page = open_page(chromium, contexts, server, "admin@example.com")
    page.set_viewport_size(PHONE)
    page.goto("/inbox")
    page.wait_for_load_state("load")
    # Every section is on the screen, none scrolled out of the top bar.
    for link in ("nav-settings", "nav-reports", "nav-contacts"):
        box = page.locator(f"#{link}").bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"], link
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshots.shot(page, "phone-admin")
    page.locator(".me .avatar").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    page.locator("#account-sign-out").click()
    expect(page).to_have_url(re.compile(r"/login"))
