"""``INBOX_LOG_FORMAT=json``: one JSON object per line, with the conversation, workflow and run
ids inside the worker, and no phone number or message body at INFO."""

from __future__ import annotations

import io
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.testing import WorkflowEnvironment

from inbox import logs
from inbox.cli.worker import DB_THREADS, SEND_THREADS
from inbox.contracts import conversation_workflow_id
from inbox.models import Message
from inbox.settings import Settings
from tests.factories import Factory
from tests.polling import eventually
from tests.rules.conftest import Rig

CONTACT = "+12025550143"
BODY = "Hi, my card ends 4242 and my cell is +1 (202) 555-0143, call me"
REPLY_RULE = """
- name: auto-reply
  trigger: message_received
  then:
    - send_sms: "Thanks {{ contact.first_name }}, we got your message."
"""


def _captured(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_an_inbound_to_reply_flow_logs_ids_and_no_number_or_body(
    time_env: WorkflowEnvironment,
    sessions: sessionmaker[Session],
    factory: Factory,
    database_url: str,
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "reply.yaml").write_text(REPLY_RULE)
    settings = Settings(database_url=database_url, rules_dir=rules)
    contact = factory.contact(name="Ada Lovelace", number=CONTACT)
    conversation = factory.conversation(contact=contact, contact_number=CONTACT)
    stream = io.StringIO()
    handler = logs.handler(logs.JSON, stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with ThreadPoolExecutor(SEND_THREADS) as calls, ThreadPoolExecutor(DB_THREADS) as db:
            rig = Rig(time_env, sessions, settings, calls, db)
            async with rig.worker():
                await rig.inbound(conversation.id, BODY)

                def replied() -> bool:
                    with sessions() as session:
                        query = select(Message).where(Message.automation == "auto-reply")
                        reply = session.scalars(query).first()
                        return reply is not None and reply.status == "delivered"

                await eventually(replied)
                run_id = (await rig.handle(conversation.id).describe()).run_id
    finally:
        root.removeHandler(handler)
        root.setLevel(level)

    lines = _captured(stream)  # every line is one JSON object
    assert lines
    handed = [line for line in lines if "handed to simulator" in str(line["message"])]
    assert handed, [line["message"] for line in lines]
    assert handed[0]["level"] == "INFO"
    assert handed[0]["conversation_id"] == conversation.id
    assert handed[0]["workflow_id"] == conversation_workflow_id(conversation.id)
    assert handed[0]["run_id"] == run_id
    text = stream.getvalue()
    for secret in (CONTACT, CONTACT.removeprefix("+1"), "555-0143", "card ends", "we got your"):
        assert secret not in text, secret


def test_redaction_catches_numbers_in_text_we_did_not_write() -> None:
    stream = io.StringIO()
    log = logging.getLogger("tests.observability.redact")
    log.addHandler(logs.handler(logs.JSON, stream))
    log.propagate = False
    try:
        log.warning("provider said: %s", "The 'To' number +1 (202) 555-0143 is not valid")
        log.warning("retry 3 of message 12 at 2026-12-01 10:00:00")
        try:
            raise ValueError("cannot text 2025550143")
        except ValueError:
            log.exception("send failed")
    finally:
        log.handlers.clear()
        log.propagate = True
    first, second, third = _captured(stream)
    assert first["message"] == "provider said: The 'To' number [number] is not valid"
    assert second["message"] == "retry 3 of message 12 at 2026-12-01 10:00:00"  # not a number
    assert "2025550143" not in str(third["exception"]) and "[number]" in str(third["exception"])


def test_the_access_log_loses_its_query_string() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/search?q=my+order+is+late", "1.1", 200), None,
    )  # fmt: skip
    assert logs.Redact().filter(record)
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["message"] == '127.0.0.1:5000 - "GET /search HTTP/1.1" 200'
