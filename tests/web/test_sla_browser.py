"""An SLA breach as a manager sees it in Chromium: the alert step the conversation workflow runs
when a deadline passes (the real activity) reaches the signed-in manager at once as a toast and
on the bell; the list shows the red "overdue" badge first under "SLA due", an at-risk one amber
after it; the conversation's timeline says which target was breached."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from activities.store import StoreActivities
from inbox.contracts import SlaAlertInput, SlaDeadline, SlaStage, SlaTarget
from inbox.models import Conversation, User, utcnow
from inbox.services import sla
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


def _deadline(sessions: sessionmaker[Session], conversation_id: int, *, due_in: timedelta):
    """A first-response deadline of 15 minutes due ``due_in`` from now, shown on the row as
    the store step shows it."""
    now = utcnow()
    deadline = SlaDeadline(
        target=SlaTarget.FIRST_RESPONSE,
        started_at=now + due_in - timedelta(minutes=15),
        at_risk_at=now + due_in - timedelta(minutes=3),
        due_at=now + due_in,
    )
    with sessions() as session:
        sla.show(session.get_one(Conversation, conversation_id), [deadline])
        session.commit()
    return deadline


def test_a_breach_reaches_the_manager_and_shows_in_the_list_and_timeline(
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
    late = text_in(sessions, world, body="Where is my order?", number="+12025550161")
    risky = text_in(sessions, world, body="Quick question", number="+12025550162")
    calm = text_in(sessions, world, body="No rush", number="+12025550163")
    breached = _deadline(sessions, late.id, due_in=timedelta(minutes=-2))
    _deadline(sessions, risky.id, due_in=timedelta(minutes=2))
    _deadline(sessions, calm.id, due_in=timedelta(minutes=14))

    page = open_page(chromium, contexts, server, "manager@example.com")
    page.goto("/inbox?sort=due")
    wait_live(page)
    # The workflow's alert step, as it runs when the deadline passes.
    store = StoreActivities(sessions, Settings(database_url=database_url))
    alert = SlaAlertInput(late.id, breached, SlaStage.BREACHED, utcnow())
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's loop
        assert pool.submit(asyncio.run, store.sla_alert(alert)).result() is True
        # A retried step alerts once.
        assert pool.submit(asyncio.run, store.sla_alert(alert)).result() is False

    toast = page.locator("#alerts .alert-notification").first
    expect(toast).to_contain_text("First response SLA breached", timeout=LIVE)
    expect(page.locator("#bell-count")).to_have_text("1", timeout=LIVE)

    items = page.locator("#conv-items .conv-item")
    expect(items).to_have_count(3)
    first = items.nth(0)
    expect(first).to_have_attribute("data-id", str(late.id))
    expect(first.locator(".sla-badge")).to_have_class(re.compile("sla-breached"))
    expect(first.locator(".sla-badge")).to_contain_text("First reply overdue 2m")
    expect(items.nth(1).locator(".sla-badge")).to_have_class(re.compile("sla-at-risk"))
    expect(items.nth(2).locator(".sla-badge")).to_have_class(re.compile(r"sla-running"))
    shot(page, "sla-list")

    first.click()
    timeline = page.locator("#conversation-pane")
    expect(timeline).to_contain_text("First response SLA breached (due at", timeout=LIVE)
    expect(page.locator(".conversation-header .sla-badge, #conversation-pane .sla-badge").first
           ).to_contain_text("overdue")  # fmt: skip

    page.goto("/notifications")
    item = page.locator(".notification").first
    expect(item).to_contain_text("First response SLA breached")
    expect(item.locator("a", has_text="View conversation")).to_have_attribute(
        "href", re.compile(rf"/inbox/{late.id}")
    )
