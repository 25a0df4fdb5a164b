"""The notification centre in Chromium: the shipped slow-reply rule's notify (run by the very
activity the conversation workflow calls) reaches the signed-in manager at once as a toast and
on the bell; the list shows it and marking it read drops the count; an @mention in a teammate's
note notifies the manager live; with pop-ups off, the bell counts and no toast shows."""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from activities.automation import AutomationActivities
from inbox.contracts import ActionRequest, RunRecord, RunRuleInput
from inbox.models import Notification, User, utcnow
from inbox.rules.registry import RuleRegistry
from inbox.settings import Settings
from tests.web.conftest import World, text_in
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    LIVE,
    chromium,
    contexts,
    open_page,
    server,
    shot,
    wait_live,
)

pytestmark = pytest.mark.browser

RULES = Path(__file__).resolve().parents[2] / "rules"
RULE = "alert-manager-on-slow-reply"


def fire_slow_reply(database_url: str, sessions: sessionmaker[Session], conversation_id: int):
    """Run the shipped rule's actions through the automation activity, as the conversation's
    workflow does when its 15-minute timer fires and the conditions hold."""
    rule = RuleRegistry(RULES).current().get(RULE)
    assert rule is not None, f"{RULE} is not in rules/"
    key = f"test-{time.monotonic_ns()}"
    request = RunRuleInput(
        record=RunRecord(
            conversation_id=conversation_id,
            rule=rule.name,
            version=rule.version,
            trigger="message_received",
            trigger_key=key,
            outcome="fired",
            triggered_at=utcnow(),
            evaluated_at=utcnow(),
        ),
        actions=[
            ActionRequest(
                key=f"{conversation_id}:{rule.name}:{key}:{index}",
                kind=str(action["kind"]),
                params=dict(action.get("params") or {}),
            )
            for index, action in enumerate(rule.actions)
        ],
    )
    acts = AutomationActivities(sessions, Settings(database_url=database_url, rules_dir=RULES))
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's loop
        result = pool.submit(asyncio.run, acts.run_rule(request)).result()
    assert [taken.status for taken in result.actions] == ["done"], result


def bell(page: Page):
    return page.locator("#bell-count")


def test_a_rule_notification_reaches_the_manager_live(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    world: World,
    database_url: str,
):
    with sessions() as session:
        session.get_one(User, world.agent.id).manager_id = world.manager.id
        session.commit()
    conversation = text_in(sessions, world, body="Hello? Anyone there?", number="+12025550177")
    page = open_page(chromium, contexts, server, "manager@example.com")
    wait_live(page)
    expect(bell(page)).to_be_hidden()  # nothing unread

    started = time.monotonic()
    fire_slow_reply(database_url, sessions, conversation.id)
    toast = page.locator("#alerts .alert-notification").first
    expect(toast).to_contain_text("has waited 15 minutes for a reply from Alex Agent", timeout=LIVE)
    expect(bell(page)).to_have_text("1", timeout=LIVE)
    latency = time.monotonic() - started
    assert latency < 2.5, f"the toast took {latency:.2f}s"
    expect(toast).to_contain_text(f"Automation: {RULE}")
    shot(page, "notification-toast")

    page.click("#notification-bell")
    expect(page).to_have_url(re.compile(r"/notifications$"))
    item = page.locator(".notification").first
    expect(item).to_have_class(re.compile("unread"))
    expect(item).to_contain_text("has waited 15 minutes")
    expect(item.locator("a", has_text="View conversation")).to_have_attribute(
        "href", f"/inbox/{conversation.id}"
    )
    shot(page, "notifications")
    item.locator("button.mark-read").click()
    expect(item).not_to_have_class(re.compile("unread"))
    expect(bell(page)).to_be_hidden()
    with sessions() as session:
        (row,) = session.scalars(select(Notification)).all()
        assert row.user_id == world.manager.id and row.read_at is not None
        assert row.kind == "rule" and row.automation == RULE


def test_a_mention_in_a_note_notifies_the_teammate_live(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    world: World,
):
    conversation = text_in(sessions, world, body="Can I get a discount?", number="+12025550178")
    manager = open_page(chromium, contexts, server, "manager@example.com")
    manager.goto("/notifications")
    wait_live(manager)
    expect(manager.locator("#no-notifications")).to_be_visible()

    agent = open_page(chromium, contexts, server, "agent@example.com")
    agent.goto(f"/inbox/{conversation.id}")
    agent.fill(".note-form textarea", "@Max Manager may I offer 10% off?")
    agent.locator(".note-form button[type=submit]").click()

    toast = manager.locator("#alerts .alert-notification").first
    expect(toast).to_contain_text("Alex Agent mentioned you in a note", timeout=LIVE)
    expect(bell(manager)).to_have_text("1", timeout=LIVE)
    item = manager.locator(".notification").first  # the open list refreshed itself
    expect(item).to_contain_text("may I offer 10% off?", timeout=LIVE)
    expect(item).to_contain_text("You were mentioned")
    shot(manager, "notification-mention")
    toast.locator("a", has_text="View").click()
    expect(manager).to_have_url(re.compile(rf"/inbox/{conversation.id}$"))
    expect(manager.locator("#timeline")).to_contain_text("may I offer 10% off?")

    # Pop-ups off: the next mention counts on the bell and shows no toast.
    manager.goto("/notifications")
    wait_live(manager)
    manager.click("#toast-toggle button")
    expect(manager.locator("#toast-toggle button")).to_have_attribute("aria-checked", "false")
    agent.fill(".note-form textarea", "@max never mind, done")
    agent.locator(".note-form button[type=submit]").click()
    expect(bell(manager)).to_have_text("2", timeout=LIVE)
    expect(manager.locator(".notification").first).to_contain_text("never mind")
    expect(manager.locator("#alerts .alert-notification")).to_have_count(0)
    manager.click("#mark-all-read")
    expect(bell(manager)).to_be_hidden()
    expect(manager.locator(".notification.unread")).to_have_count(0)
