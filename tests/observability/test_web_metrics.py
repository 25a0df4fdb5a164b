"""``GET /metrics`` on the web process: requests by route template, webhook outcomes, the outbox
backlog and the live streams, in Prometheus text format."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from inbox.cli.simulate import signed_webhook, webhook_params
from inbox.models import PendingSignal, utcnow
from inbox.settings import Settings
from tests.observability.conftest import Samples, samples, value
from tests.web.conftest import World

CONTACT = "+12025550143"


def _scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    return samples(response.text)


def _post_sms(client: TestClient, settings: Settings, to: str, sid: str, *, sign: bool = True):
    params = webhook_params(
        settings=settings, from_number=CONTACT, to_number=to, body="Hello there", sid=sid
    )
    _, headers = signed_webhook(settings, params)
    return client.post("/webhooks/twilio/sms", data=params, headers=headers if sign else {})


def test_requests_by_route_template_and_webhook_outcomes(web_app: FastAPI, world: World) -> None:
    client = TestClient(web_app)
    settings = web_app.state.inbox.settings
    before = _scrape(client)
    assert _post_sms(client, settings, world.channel.number or "", "SMmetrics1").status_code == 200
    assert _post_sms(client, settings, world.channel.number or "", "SMmetrics1").status_code == 200
    unsigned = _post_sms(client, settings, world.channel.number or "", "SMmetrics2", sign=False)
    assert unsigned.status_code == 403
    assert _post_sms(client, settings, "+14155550199", "SMmetrics3").status_code == 404
    for conversation_id in (12345, 67890):
        assert client.get(f"/api/v1/conversations/{conversation_id}").status_code == 401
    client.get("/no/such/page")

    after = _scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    webhook = "inbox_webhook_requests_total"
    assert grew(webhook, webhook="sms", outcome="stored") == 1
    assert grew(webhook, webhook="sms", outcome="duplicate") == 1
    assert grew(webhook, webhook="sms", outcome="bad_signature") == 1
    assert grew(webhook, webhook="sms", outcome="unknown_channel") == 1
    requests = "inbox_http_requests_total"
    sms = "/webhooks/twilio/sms"
    assert grew(requests, method="POST", route=sms, status="200") == 2
    assert grew(requests, method="POST", route=sms, status="403") == 1
    # Two ids, one series: the template, never the raw path.
    template = "/api/v1/conversations/{conversation_id}"
    assert grew(requests, method="GET", route=template, status="401") == 2
    assert grew(requests, method="GET", route="<unmatched>", status="404") == 1
    assert not any("12345" in str(labels) for _name, labels in after)
    latency = "inbox_http_request_duration_seconds_count"
    assert grew(latency, method="POST", route=sms) == 4
    # Nothing of the texts or numbers is in the answer.
    text = client.get("/metrics").text
    assert CONTACT not in text and "Hello there" not in text


def test_the_outbox_backlog_is_read_from_the_database(
    web_app: FastAPI, sessions: sessionmaker[Session]
) -> None:
    client = TestClient(web_app)
    empty = _scrape(client)
    assert value(empty, "inbox_relay_pending_signals") == 0
    assert value(empty, "inbox_relay_oldest_pending_age_seconds") == 0
    with sessions() as session:
        for age in (timedelta(seconds=90), timedelta(seconds=5)):
            session.add(
                PendingSignal(
                    workflow_id="conversation-1",
                    workflow_type="ConversationWorkflow",
                    signal="message_received",
                    created_at=utcnow() - age,
                )
            )
        session.commit()
    waiting = _scrape(client)
    assert value(waiting, "inbox_relay_pending_signals") == 2
    assert 90 <= value(waiting, "inbox_relay_oldest_pending_age_seconds") < 120


async def test_open_live_streams_are_counted(web_app: FastAPI, signed_in: Any) -> None:
    cookies = signed_in("agent@example.com").client.cookies
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    scope = {
        "type": "http", "method": "GET", "path": "/live", "raw_path": b"/live",
        "query_string": b"", "headers": [(b"cookie", header.encode()), (b"host", b"test")],
        "client": ("127.0.0.1", 1), "server": ("test", 80), "scheme": "http",
        "http_version": "1.1", "root_path": "", "app": web_app,
    }  # fmt: skip
    connected: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)  # the page stays open until the test cancels it
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        body = message.get("body") if message["type"] == "http.response.body" else None
        if body and not connected.done():
            connected.set_result(body)

    client = TestClient(web_app)
    gauge = "inbox_sse_connections"
    before = value(await asyncio.to_thread(_scrape, client), gauge)
    stream = asyncio.create_task(web_app(scope, receive, send))
    try:
        assert (await asyncio.wait_for(connected, 10)).startswith(b": connected")
        assert value(await asyncio.to_thread(_scrape, client), gauge) == before + 1
    finally:
        stream.cancel()
        await asyncio.gather(stream, return_exceptions=True)
    assert value(await asyncio.to_thread(_scrape, client), gauge) == before
    await web_app.state.web_live.stop()


def test_a_metrics_token_is_required_once_set(database_url: str, engine: Any) -> None:
    settings = Settings(database_url=database_url, metrics_token="scrape-secret")
    client = TestClient(create_app(settings))
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert right.status_code == 200
    assert "inbox_http_requests_total" in right.text
