"""One inbound webhook, one trace: the web request, the signal-with-start, the workflow, its
activities and the provider's send share a trace id (an in-memory exporter collects them)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from inbox import tracing
from inbox.cli.simulate import signed_webhook, webhook_params
from inbox.cli.worker import DB_THREADS, SEND_THREADS
from inbox.models import Message
from inbox.settings import Settings
from tests.factories import Factory
from tests.polling import eventually
from tests.rules.conftest import Rig

REPLY_RULE = """
- name: auto-reply
  trigger: message_received
  then:
    - send_sms: "Thanks, we got your message."
"""
EXPORTER = InMemorySpanExporter()


async def test_one_webhook_is_one_trace_to_the_provider_call(
    time_env: WorkflowEnvironment,
    sessions: sessionmaker[Session],
    factory: Factory,
    database_url: str,
    tmp_path: Path,
) -> None:
    # As OTEL_TRACES_EXPORTER would, but to memory; off again for the tests that follow.
    assert tracing.configure("inbox-test", SimpleSpanProcessor(EXPORTER))
    try:
        await _webhook_to_reply(time_env, sessions, factory, database_url, tmp_path)
    finally:
        tracing._configured = False
    spans = EXPORTER.get_finished_spans()
    EXPORTER.clear()
    by_name = {span.name: span for span in spans}
    request = next(s for s in spans if s.name.startswith("POST /webhooks/twilio/sms"))
    send = by_name["sms.send"]
    trace_id = request.context.trace_id
    assert send.context.trace_id == trace_id
    assert send.attributes is not None and send.attributes["sms.provider"] == "simulator"
    path = [
        "SignalWithStartWorkflow:ConversationWorkflow",
        "HandleSignal:message_received",
        "RunActivity:automation_run_rule",
        "RunActivity:deliver_message",
    ]
    for name in path:
        assert name in by_name, (name, sorted(by_name))
        assert by_name[name].context.trace_id == trace_id, name


async def _webhook_to_reply(
    time_env: WorkflowEnvironment,
    sessions: sessionmaker[Session],
    factory: Factory,
    database_url: str,
    tmp_path: Path,
) -> None:
    """A signed inbound webhook to the app on a traced client, until the auto-reply is sent."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "reply.yaml").write_text(REPLY_RULE)
    settings = Settings(database_url=database_url, rules_dir=rules)
    client = Client(**{**time_env.client.config(), "interceptors": tracing.interceptors()})
    channel = factory.channel()
    app = create_app(settings, temporal_client=client)
    with ThreadPoolExecutor(SEND_THREADS) as calls, ThreadPoolExecutor(DB_THREADS) as db:
        # The worker on the traced client (its interceptor runs on the worker too).
        rig = Rig(WorkflowEnvironment.from_client(client), sessions, settings, calls, db)
        async with rig.worker():
            params = webhook_params(
                settings=settings,
                from_number="+12025550143",
                to_number=channel.number or "",
                body="Hello",
            )
            _, headers = signed_webhook(settings, params)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as web:
                response = await web.post("/webhooks/twilio/sms", data=params, headers=headers)
            assert response.status_code == 200

            def replied() -> bool:
                with sessions() as session:
                    query = select(Message).where(Message.automation == "auto-reply")
                    reply = session.scalars(query).first()
                    return reply is not None and reply.status == "delivered"

            await eventually(replied)
