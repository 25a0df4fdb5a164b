"""``/api/v1/consent/records``: the consent changes for an audit or a CRM's own list, paged
oldest first, as JSON or CSV; business-wide, so a key scoped to some inboxes is refused."""

from __future__ import annotations

import csv
import io

import httpx
from fastapi import FastAPI

from inbox.models import ConsentMethod, ConsentRecord
from inbox.services.api_keys import create_api_key


def _records(sessions, count: int) -> None:
    with sessions() as session:
        for n in range(count):
            session.add(
                ConsentRecord(
                    number=f"+1202555{n:04d}",
                    action="opt_out" if n % 2 == 0 else "opt_in",
                    method=ConsentMethod.KEYWORD,
                    keyword="STOP" if n % 2 == 0 else "START",
                )
            )
        session.commit()


async def test_records_page_oldest_first_to_the_last(api_client, sessions):
    _records(sessions, 5)
    first = (await api_client.get("/api/v1/consent/records", params={"limit": 2})).json()
    assert [r["number"] for r in first["items"]] == ["+12025550000", "+12025550001"]
    assert first["items"][0]["action"] == "opt_out"
    assert first["items"][0]["keyword"] == "STOP"
    seen = [r["number"] for r in first["items"]]
    after = first["next_after"]
    while after is not None:
        page = (
            await api_client.get("/api/v1/consent/records", params={"limit": 2, "after": after})
        ).json()
        seen += [r["number"] for r in page["items"]]
        after = page["next_after"]
    assert seen == [f"+1202555{n:04d}" for n in range(5)]


async def test_records_as_csv_for_an_audit(api_client, sessions):
    _records(sessions, 3)
    response = await api_client.get("/api/v1/consent/records", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["number"] for row in rows] == ["+12025550000", "+12025550001", "+12025550002"]
    assert [row["keyword"] for row in rows] == ["STOP", "START", "STOP"]


async def test_a_key_for_some_inboxes_is_refused(app: FastAPI, factory, sessions):
    _records(sessions, 1)
    inbox = factory.inbox()
    with sessions() as session:
        _, key = create_api_key(session, name="scoped", inboxes=[session.merge(inbox)])
        session.commit()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        response = await client.get("/api/v1/consent/records")
    assert response.status_code == 403
    assert "every inbox" in response.json()["detail"]


async def test_bad_paging_names_the_parameter(api_client):
    response = await api_client.get("/api/v1/consent/records", params={"limit": 0})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "limit"
    # An id past what the database holds is the schema's refusal, not the database's.
    past = await api_client.get("/api/v1/consent/records", params={"after": 2**70})
    assert past.status_code == 422 and past.json()["detail"][0]["loc"][-1] == "after"
