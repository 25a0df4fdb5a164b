"""The reports page in Chromium: a manager opens it from the nav, sees the bar chart (one
bar per day and series, drawn from the reporting table) and the table beneath it, and
switching to weeks per agent redraws both."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from inbox.models import Conversation, utcnow
from inbox.reporting.facts import FactKind, record
from tests.factories import Factory
from tests.web.conftest import World
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    chromium,
    contexts,
    open_page,
    server,
    shot,
)

pytestmark = pytest.mark.browser


def _seed(session: Session, factory: Factory, world: World) -> None:
    """Over the last week: each day d (0 today) opens d + 1 conversations in Sales and
    closes one of them (first response 2 minutes, close 1 hour)."""
    today = utcnow().replace(hour=9, minute=0, second=0, microsecond=0)
    for days_ago in range(7):
        day = today - timedelta(days=days_ago)
        for n in range(days_ago + 1):
            convo: Conversation = factory.conversation(channel=world.channel,
                                                       assignee_id=world.agent.id)  # fmt: skip
            record(session, conversation=convo, kind=FactKind.OPENED, key="opened", at=day)
            record(session, conversation=convo, kind=FactKind.FIRST_RESPONSE,
                   key="first_response", at=day + timedelta(minutes=2), seconds=120)  # fmt: skip
            if n == 0:
                record(session, conversation=convo, kind=FactKind.CLOSED, key="c",
                       at=day + timedelta(hours=1), seconds=3600)  # fmt: skip
    session.commit()


def test_the_reports_page_shows_a_chart_and_its_table(
    server: str,  # noqa: F811
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    session: Session,
    factory: Factory,
    world: World,
):
    _seed(session, factory, world)
    page = open_page(chromium, contexts, server, "manager@example.com")
    page.click("#nav-reports")
    expect(page).to_have_url(re.compile(r"/reports$"))
    chart = page.locator("#report-chart")
    expect(chart).to_be_visible()
    # 30 days, two series: 60 bars; the seven busy days have visible ones.
    expect(chart.locator("rect.bar")).to_have_count(60)
    heights = [float(h) for h in chart.locator("rect.bar-opened").evaluate_all(
        "bars => bars.map(b => b.getAttribute('height'))")]  # fmt: skip
    assert len([h for h in heights if h > 0]) == 7
    # Six days ago opened 7 (the tallest, the whole plot), today 1: a seventh of it.
    assert heights[-7] == max(heights) and heights[-1] == pytest.approx(max(heights) / 7, 0.01)
    table = page.locator("#report-table tbody tr")
    expect(table).to_have_count(7)
    expect(table.last).to_contain_text("Sales")
    expect(table.last).to_contain_text("2m 0s")
    # The bars are coloured by the stylesheet (the CSP allows no inline style).
    fill = chart.locator("rect.bar-opened").first.evaluate("b => getComputedStyle(b).fill")
    assert fill == "rgb(47, 91, 234)", fill
    shot(page, "reports")

    page.select_option("select[name=group]", "week")
    page.select_option("select[name=by]", "agent")
    page.click("#report-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"group=week&by=agent"))
    expect(page.locator("#report-table tbody tr").first).to_contain_text("Alex Agent")
    rows = page.locator("#report-table tbody tr")
    total = sum(int(rows.nth(i).locator("td").nth(2).inner_text()) for i in range(rows.count()))
    assert total == 28  # 1 + 2 + ... + 7 conversations opened
    expect(page.locator("#report-csv")).to_have_attribute("href", re.compile(r"group=week"))
