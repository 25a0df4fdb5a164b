"""The reports page, its CSV and the JSON API: who sees which figures (managers every
conversation's, an agent their own, a key its inboxes'), and the 422 for a bad range."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from inbox.models import Conversation
from inbox.reporting.facts import FactKind, record
from inbox.services.api_keys import create_api_key
from tests.factories import Factory
from tests.web.conftest import World

DAY = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
RANGE = "from=2026-11-02&to=2026-11-03"


def _conversation(session: Session, factory: Factory, world: World, inbox, assignee, seconds):
    convo: Conversation = factory.conversation(channel=world.channel, inbox_id=inbox.id,
                                               assignee_id=assignee.id)  # fmt: skip
    record(session, conversation=convo, kind=FactKind.OPENED, key="opened", at=DAY)
    record(session, conversation=convo, kind=FactKind.FIRST_RESPONSE, key="first_response",
           at=DAY + timedelta(seconds=seconds), seconds=seconds)  # fmt: skip
    session.commit()


@pytest.fixture
def facts(session: Session, factory: Factory, world: World) -> World:
    # Sales (the agent's): first responses of 60, 120 and 300 s; Support (the other agent's): 30 s.
    for seconds in (60, 120, 300):
        _conversation(session, factory, world, world.sales, world.agent, seconds)
    _conversation(session, factory, world, world.support, world.other_agent, 30)
    return world


def test_a_manager_sees_every_inbox_and_an_agent_their_own(facts: World, signed_in) -> None:
    page = signed_in("manager@example.com").get(f"/reports?{RANGE}&by=inbox")
    assert page.status_code == 200
    assert 'id="nav-reports"' in page.text and 'id="report-chart"' in page.text
    assert "<td>Sales</td>" in page.text and "<td>Support</td>" in page.text
    # Sales: median 120 s; p90 at rank 1.8 of 60 120 300: 120 + 0.8 * 180 = 264 s; mean 160 s.
    assert '<td class="num">2m 0s</td><td class="num">4m 24s</td><td class="num">2m 40s</td>' in (
        page.text
    )
    mine = signed_in("agent@example.com").get(f"/reports?{RANGE}&by=agent")
    assert mine.status_code == 200 and "Your figures" in mine.text
    assert "<td>Alex Agent</td>" in mine.text and "Olive Other" not in mine.text


def test_the_csv_export(facts: World, signed_in) -> None:
    answer = signed_in("admin@example.com").get(f"/reports/export.csv?{RANGE}&by=agent")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["agent"], r["opened"], r["first_response_median_s"], r["first_response_p90_s"])
            for r in rows] == [("Alex Agent", "3", "120.0", "264.0"),
                               ("Olive Other", "1", "30.0", "30.0")]  # fmt: skip


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=&to=2026-11-02", "&#39;from&#39; is missing"),
        ("from=2026-11-03&to=2026-11-02", "The range is empty"),
        ("from=2024-01-01&to=2026-11-02", "longer than two years"),
        (f"{RANGE}&group=month", "&#39;group&#39; must be one of: day, week"),
    ],
)
def test_a_bad_range_is_a_422_that_says_why(facts: World, signed_in, query, message) -> None:
    manager = signed_in("manager@example.com")
    page = manager.get(f"/reports?{query}")
    assert page.status_code == 422 and message in page.text
    assert 'id="report-form"' in page.text  # the form is there to fix it
    assert manager.get(f"/reports/export.csv?{query}").status_code == 422


def test_the_page_opens_on_the_last_30_days(facts: World, signed_in) -> None:
    page = signed_in("manager@example.com").get("/reports")
    assert page.status_code == 200 and 'id="report-table"' in page.text


def test_the_api_answers_within_the_keys_inboxes(
    facts: World, session: Session, client: TestClient
) -> None:
    _, full = create_api_key(session, name="full", access="read")
    _, support = create_api_key(session, name="support", inboxes=[facts.support])
    session.commit()

    def get(key: str, query: str):
        return client.get(f"/api/v1/reports?{query}", headers={"Authorization": f"Bearer {key}"})

    everything = get(full, f"{RANGE}&group=week&by=inbox")
    assert everything.status_code == 200
    body = everything.json()
    assert (body["from"], body["to"], body["group"], body["by"]) == (
        "2026-11-02", "2026-11-03", "week", "inbox")  # fmt: skip
    sales = next(row for row in body["rows"] if row["label"] == "Sales")
    assert sales["period"] == "2026-11-02" and sales["opened"] == 3
    assert sales["first_response"] == {"count": 3, "median_seconds": 120.0,
                                       "p90_seconds": 264.0, "mean_seconds": 160.0}  # fmt: skip
    assert [row["label"] for row in get(support, RANGE).json()["rows"]] == ["Support"]
    bad = get(full, "from=2026-11-03&to=2026-11-02")
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "to"]
    assert "The range is empty" in bad.json()["detail"][0]["msg"]
    assert client.get(f"/api/v1/reports?{RANGE}").status_code == 401


def test_per_tag_on_the_page_in_the_csv_and_the_api(
    facts: World, session: Session, client: TestClient, signed_in
) -> None:
    # Two of Sales' three conversations tagged: vip (60 s) and vip + billing (120 s).
    first, second, _ = session.query(Conversation).filter_by(inbox_id=facts.sales.id).order_by(
        Conversation.id).all()  # fmt: skip
    first.tags, second.tags = ["vip"], ["vip", "billing"]
    session.commit()
    manager = signed_in("manager@example.com")
    page = manager.get(f"/reports?{RANGE}&by=tag")
    assert page.status_code == 200 and '<option value="tag" selected>Tag</option>' in page.text
    assert "<td>billing</td>" in page.text and "<td>No tag</td>" in page.text
    answer = manager.get(f"/reports/export.csv?{RANGE}&by=tag")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    # billing: 120 s; vip: 60 and 120 s (median 90); no tag: Sales' 300 s and Support's 30 s.
    assert [(r["tag"], r["opened"], r["first_response_median_s"]) for r in rows] == [
        ("billing", "1", "120.0"), ("vip", "2", "90.0"), ("", "2", "165.0")]  # fmt: skip
    _, key = create_api_key(session, name="full", access="read")
    session.commit()
    body = client.get(f"/api/v1/reports?{RANGE}&by=tag",
                      headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
    assert body["by"] == "tag"
    assert [(row["key"], row["label"], row["opened"]) for row in body["rows"]] == [
        ("billing", "billing", 1), ("vip", "vip", 2), (None, "No tag", 2)]  # fmt: skip


def test_the_sla_hit_rate_on_the_page_in_the_csv_and_the_api(
    facts: World, session: Session, client: TestClient, signed_in
) -> None:
    # Sales: 2 targets met, 1 breached (2 / 3 = 66.7 %); Support: none ended.
    convo = session.query(Conversation).filter_by(inbox_id=facts.sales.id).first()
    assert convo is not None
    for target, kind in [("first_response", FactKind.SLA_MET), ("next_response",
                         FactKind.SLA_MET), ("resolution", FactKind.SLA_BREACHED)]:  # fmt: skip
        record(session, conversation=convo, kind=kind, key=f"{target}:{DAY.isoformat()}",
               at=DAY + timedelta(hours=1), seconds=600)  # fmt: skip
    session.commit()
    manager = signed_in("manager@example.com")
    page = manager.get(f"/reports?{RANGE}&by=inbox").text
    assert "SLA hit rate" in page
    assert '<td class="num">66.7% (2 of 3)</td>' in page and '<td class="num">—</td>' in page
    # The chart: both inboxes together, 3 + 1 opened.
    assert "<title>2026-11-02: 4 opened; SLA 66.7% (2 of 3)</title>" in page
    rows = list(csv.DictReader(io.StringIO(manager.get(f"/reports/export.csv?{RANGE}").text)))
    assert [(r["inbox"], r["sla_met"], r["sla_breached"], r["sla_hit_rate_pct"])
            for r in rows] == [("Sales", "2", "1", "66.7"), ("Support", "0", "0", "")]  # fmt: skip
    _, key = create_api_key(session, name="full", access="read")
    session.commit()
    body = client.get(f"/api/v1/reports?{RANGE}", headers={"Authorization": f"Bearer {key}"})
    assert [row["sla"] for row in body.json()["rows"]] == [
        {"met": 2, "breached": 1, "hit_rate_percent": 66.7},
        {"met": 0, "breached": 0, "hit_rate_percent": None},
    ]


def test_business_hours_on_the_page_in_the_csv_and_the_api(
    facts: World, session: Session, factory: Factory, client: TestClient, signed_in
) -> None:
    # Sales opens 9-17 UTC on weekdays. A reply on Monday 2 November 9:15 that waited since
    # Friday 16:30: plain 2 days 16 h 45 min (233,100 s), business 30 + 15 min (2,700 s).
    facts.sales.business_hours = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu",
                                                                    "fri")}  # fmt: skip
    facts.sales.timezone = "UTC"
    convo = factory.conversation(channel=facts.channel, inbox_id=facts.sales.id)
    replied = datetime(2026, 11, 2, 9, 15, tzinfo=UTC)
    record(session, conversation=convo, kind=FactKind.REPLY, key="r", at=replied, seconds=233100)
    session.commit()
    manager = signed_in("manager@example.com")
    plain = manager.get(f"/reports?{RANGE}").text
    assert '<option value="all" selected>All hours</option>' in plain
    assert "2d 16h" in plain and "45m 0s" not in plain
    business = manager.get(f"/reports?{RANGE}&hours=business").text
    assert '<option value="business" selected>Business hours</option>' in business
    assert 'id="report-business-hours"' in business and "2d 16h" not in business
    assert '<td class="num">45m 0s</td><td class="num">45m 0s</td><td class="num">45m 0s</td>' in (
        business
    )
    assert "&amp;hours=business" in business  # the export link keeps the toggle
    answer = manager.get(f"/reports/export.csv?{RANGE}&hours=business")
    assert "business-hours.csv" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["inbox"], r["reply_median_s"]) for r in rows] == [("Sales", "2700.0"),
                                                                 ("Support", "")]  # fmt: skip
    _, key = create_api_key(session, name="full", access="read")
    session.commit()

    def reply_median(query: str) -> object:
        got = client.get(f"/api/v1/reports?{RANGE}{query}",
                         headers={"Authorization": f"Bearer {key}"})  # fmt: skip
        assert got.status_code == 200
        body = got.json()
        sales = next(row for row in body["rows"] if row["label"] == "Sales")
        return body["hours"], sales["reply"]["median_seconds"]

    assert reply_median("") == ("all", 233100.0)
    assert reply_median("&hours=business") == ("business", 2700.0)
    bad = client.get(f"/api/v1/reports?{RANGE}&hours=office",
                     headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "hours"]
    page = manager.get(f"/reports?{RANGE}&hours=office")
    assert page.status_code == 422 and "&#39;hours&#39; must be one of: all, business" in page.text
