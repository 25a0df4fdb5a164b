"""Record workflow histories for the replay test (``test_replay.py``).

Run from the repository root and commit the files it writes to ``tests/workflows/histories/``:

    .venv/bin/python -m tests.workflows.record_histories

Until the first release there are no running conversations to keep: after a change to the
workflows, delete the old files and record them again (no ``workflow.patched`` branches). From
the first release on, keep the histories of every released version (the replay test must go on
replaying them: that proves a change did not break running conversations), guard incompatible
changes with ``workflow.patched``, and name new recordings so they do not overwrite old ones
(``--suffix v2``).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from inbox.contracts import (
    SIGNAL_SEND,
    BusinessHours,
    ConversationEvent,
    SendMessageInput,
    message_workflow_id,
)
from tests.temporal_servers import time_skipping
from tests.workflows.fakes import (
    FakeAutomation,
    FakeSms,
    FakeStore,
    event,
    fake_worker,
    register_search_attributes,
    signal_with_start,
    wait_for_state,
)
from workflows.send_message import SendMessageWorkflow

HISTORIES = Path(__file__).parent / "histories"
QUEUE = "record-histories"

Scenario = Callable[[Client, FakeStore, FakeSms], Awaitable[list[WorkflowHandle[Any, Any]]]]


async def clocks_close_reopen_quiet(
    client: Client, store: FakeStore, sms: FakeSms
) -> list[WorkflowHandle[Any, Any]]:
    """Inbound, auto-reply, human reply, assign, move, close, reopen, close, quiet period."""
    store.add(101, assignee_id=3)
    handle = await signal_with_start(
        client, QUEUE, 101, "message_received", event("msg-1", 0, message_id=1)
    )
    await handle.signal("message_sent", event("msg-2", 1, message_id=2, automated=True))
    await handle.signal("message_received", event("msg-1", 0, message_id=1))  # a repeat
    await handle.signal("message_sent", event("msg-3", 120, message_id=3, author_id=3))
    await handle.signal("assigned", event("assigned-4", 121, assignee_id=None))
    await handle.signal("moved", event("moved-5", 122, inbox_id=2))
    await handle.signal("closed", event("closed-6", 180))
    await handle.signal("reopened", event("reopened-7", 200))
    await handle.signal("closed", event("closed-8", 300))
    await handle.result()
    return [handle]


async def delivery_failures(
    client: Client, store: FakeStore, sms: FakeSms
) -> list[WorkflowHandle[Any, Any]]:
    """A rejected message and one that keeps failing until its deadline."""
    store.add(102)

    def fail(message_id: int) -> Exception:
        if message_id == 21:
            return ApplicationError(
                "unsubscribed", "21610", type="ProviderRejected", non_retryable=True
            )
        return ApplicationError("provider timed out", type="ProviderUnavailable")

    sms.fail = fail
    handle = await signal_with_start(
        client,
        QUEUE,
        102,
        "message_received",
        event("msg-20", 0, message_id=20),
        delivery_timeout_seconds=30,
    )
    await handle.signal("message_sent", event("msg-21", 5, message_id=21, author_id=3))
    await handle.signal("message_sent", event("msg-22", 6, message_id=22, author_id=3))
    await wait_for_state(handle, lambda s: s.messages_sent == 2)
    await handle.signal("closed", event("closed-23", 10))
    await handle.result()
    return [handle]


async def spam_and_back(
    client: Client, store: FakeStore, sms: FakeSms
) -> list[WorkflowHandle[Any, Any]]:
    """Inbound, marked as spam, back to closed, quiet period."""
    store.add(104)
    handle = await signal_with_start(
        client, QUEUE, 104, "message_received", event("msg-40", 0, message_id=40)
    )
    await handle.signal("marked_spam", event("marked_spam-41", 5))
    await handle.signal("marked_not_spam", event("marked_not_spam-42", 6))
    await handle.result()
    return [handle]


async def continue_as_new(
    client: Client, store: FakeStore, sms: FakeSms
) -> list[WorkflowHandle[Any, Any]]:
    """Five events, two per run: the runs hand over state and pending events."""
    store.add(103)
    handle = await signal_with_start(
        client, QUEUE, 103, "message_received", event("msg-30", 0), max_events_per_run=2
    )
    first = handle.result_run_id
    await handle.signal("message_sent", event("msg-31", 30, message_id=31, author_id=3))
    await handle.signal("message_received", event("msg-32", 40))
    await handle.signal("message_received", event("msg-33", 50))
    await handle.signal("closed", event("closed-34", 60))
    # Only the handle start_workflow returned lets the test server skip the quiet period.
    await handle.result()
    return [
        client.get_workflow_handle(handle.id, run_id=first),
        client.get_workflow_handle(handle.id),
    ]


def _at(key: str, at: datetime, **fields: Any) -> ConversationEvent:
    return ConversationEvent(key=key, at=at, **fields)


RULES = """
- name: acknowledge
  trigger: message_received
  run_once: true
  then:
    - send_sms: "Thanks, we got your message."
- name: nudge-after-15-minutes
  trigger: message_received
  wait: 15m
  if:
    - conversation.awaiting_reply: true
  then:
    - add_note: "Still waiting for a reply."
"""


async def rules_fire(
    client: Client, store: FakeStore, sms: FakeSms
) -> list[WorkflowHandle[Any, Any]]:
    """An immediate rule fires; a delayed one arms, is re-armed, fires 15 minutes later and
    keeps the closed conversation's workflow open until it has."""
    store.add(104, assignee_id=3)
    now = datetime.now(UTC)  # the server's clock: the waits must lie ahead of it
    handle = await signal_with_start(
        client, QUEUE, 104, "message_received", _at("msg-50", now, message_id=50, body="hi")
    )
    later = now + timedelta(seconds=1)
    await handle.signal("message_received", _at("msg-51", later, message_id=51, body="hello?"))
    await wait_for_state(handle, lambda s: s.messages_received == 2)
    await handle.signal("closed", _at("closed-52", later + timedelta(seconds=1)))
    await handle.result()
    return [handle]


async def rule_wait_pending(
    client: Client, store: FakeStore, sms: FakeSms
) -> list[WorkflowHandle[Any, Any]]:
    """A delayed rule armed and still pending (history of a running conversation)."""
    store.add(105)
    now = datetime.now(UTC)
    handle = await signal_with_start(
        client, QUEUE, 105, "message_received", _at("msg-60", now, message_id=60, body="hi")
    )
    await wait_for_state(handle, lambda s: bool(s.automation.waits))
    return [handle]


BUSINESS_RULES = """
- name: nudge-after-2-business-hours
  trigger: message_received
  wait: 2h
  business: true
  then:
    - add_note: "Still waiting, two business hours on."
"""


async def business_wait(
    client: Client, store: FakeStore, sms: FakeSms
) -> list[WorkflowHandle[Any, Any]]:
    """A business wait armed with the inbox's hours (weekdays 09-17 in New York, a holiday),
    fired, then the closed conversation's quiet period."""
    assert store.automation is not None
    store.automation.set_rules(BUSINESS_RULES)
    today = datetime.now(UTC).date()
    weekdays = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    store.hours = BusinessHours(weekdays, "America/New_York", [today.isoformat()])
    store.add(106)
    now = datetime.now(UTC)
    handle = await signal_with_start(
        client, QUEUE, 106, "message_received", _at("msg-70", now, message_id=70, body="hi")
    )
    await wait_for_state(handle, lambda s: bool(s.automation.waits))
    await handle.signal("closed", _at("closed-71", now + timedelta(seconds=1)))
    await handle.result()
    return [handle]


async def one_off_messages(
    client: Client, store: FakeStore, sms: FakeSms
) -> list[WorkflowHandle[Any, Any]]:
    """A one-off SMS delivered, and one rejected."""
    sms.fail = lambda message_id: (
        ApplicationError("unsubscribed", "21610", type="ProviderRejected", non_retryable=True)
        if message_id == 41
        else None
    )
    handles: list[WorkflowHandle[Any, Any]] = []
    for message_id in (40, 41):
        request = SendMessageInput(message_id=message_id)
        handle = await client.start_workflow(
            SendMessageWorkflow.run,
            request,
            id=message_workflow_id(message_id),
            task_queue=QUEUE,
            start_signal=SIGNAL_SEND,
            start_signal_args=[request],
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        await handle.result()
        handles.append(handle)
    return handles


SCENARIOS: dict[str, Scenario] = {
    "conversation_clocks": clocks_close_reopen_quiet,
    "conversation_delivery_failures": delivery_failures,
    "conversation_continue_as_new": continue_as_new,
    "conversation_spam": spam_and_back,
    "conversation_rules_fire": rules_fire,
    "conversation_rule_wait_pending": rule_wait_pending,
    "conversation_business_wait": business_wait,
    "send_message": one_off_messages,
}


async def record(suffix: str, only: list[str] | None = None) -> list[Path]:
    """Run every scenario (or those named in ``only``) on a fresh time-skipping server; write
    one JSON file per run."""
    server = shutil.which("temporal-test-server") or str(
        Path(sys.executable).parent / "temporal-test-server"
    )
    written: list[Path] = []
    HISTORIES.mkdir(exist_ok=True)
    for name, scenario in SCENARIOS.items():
        if only and name not in only:
            continue
        async with await time_skipping(test_server_existing_path=server) as env:
            await register_search_attributes(env.client)
            store, sms, automation = FakeStore(), FakeSms(), FakeAutomation(RULES)
            async with fake_worker(env.client, store, sms, QUEUE, automation):
                handles = await scenario(env.client, store, sms)
            for index, handle in enumerate(handles):
                history = await handle.fetch_history()
                path = HISTORIES / f"{name}-{index + 1}{'-' + suffix if suffix else ''}.json"
                path.write_text(history.to_json() + "\n")
                written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--suffix", default="", help="appended to each file name")
    parser.add_argument(
        "--only", action="append", choices=sorted(SCENARIOS), help="record just this scenario"
    )
    args = parser.parse_args()
    for path in asyncio.run(record(args.suffix, args.only)):
        sys.stdout.write(f"wrote {path}\n")


if __name__ == "__main__":
    main()
