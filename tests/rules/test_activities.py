# mypy: disable-error-code="type-arg,union-attr,no-untyped-call"
"""The automation activities against the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from sqlalchemy import event, func, select

from activities.automation import AutomationActivities
from activities.store import StoreActivities
from inbox.contracts import (
    SIGNAL_CLOSED,
    SIGNAL_MESSAGE_SENT,
    ActionRequest,
    ActionTaken,
    BusinessHours,
    Clocks,
    ObserveInput,
    RunRecord,
    RunRuleInput,
)
from inbox.models import (
    Conversation,
    LiveEvent,
    Message,
    Notification,
    PendingSignal,
    RuleAction,
    RuleRun,
)
from inbox.rules.snapshot import build_facts
from inbox.settings import Settings

NOW = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)


def _settings(database_url: str, rules_dir: Path) -> Settings:
    return Settings(database_url=database_url, rules_dir=rules_dir)


class _Acts(AutomationActivities):
    """The automation activity, with a shorthand that runs one action as a one-action rule."""

    async def run_action(
        self, conversation_id: int, kind: str, params: dict, key: str = "k"
    ) -> ActionTaken:
        result = await self.run_rule(
            RunRuleInput(
                record=_fired(conversation_id, key),
                actions=[_action(conversation_id, kind, params, key)],
                message_body="hello",
            )
        )
        (taken,) = result.actions
        return taken


def _acts(sessions, database_url: str, rules_dir: Path) -> _Acts:
    return _Acts(sessions, _settings(database_url, rules_dir))


def _action(conversation_id: int, kind: str, params: dict, key: str = "k") -> ActionRequest:
    return ActionRequest(key=f"{conversation_id}:rule:{key}:0", kind=kind, params=params)


def _fired(conversation_id: int, key: str = "k") -> RunRecord:
    """The run record of rule "rule" firing on ``conversation_id`` (its actions added later)."""
    return RunRecord(
        conversation_id=conversation_id,
        rule="rule",
        version="v1",
        trigger="message_received",
        trigger_key=key,
        outcome="fired",
        triggered_at=NOW,
        evaluated_at=NOW,
    )


def _count(sessions, model) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


async def test_send_sms_runs_once_per_key(sessions, database_url, rules_dir, factory) -> None:
    conversation = factory.conversation(contact=factory.contact(name="Ada Lovelace"))
    acts = _acts(sessions, database_url, rules_dir)
    data = (conversation.id, "send_sms", {"text": "Hi {{ contact.first_name }}"})
    first = await acts.run_action(*data)
    again = await acts.run_action(*data)
    assert first.status == again.status == "done"
    assert first.detail == again.detail
    with sessions() as session:
        (message,) = session.scalars(select(Message))
    assert (message.body, message.automated, message.automation) == ("Hi Ada", True, "rule")
    assert _count(sessions, RuleAction) == 1


async def test_opted_out_contact_is_skipped_with_the_reason(
    sessions, database_url, rules_dir, factory
) -> None:
    conversation = factory.conversation(contact=factory.contact(opted_out=True))
    acts = _acts(sessions, database_url, rules_dir)
    result = await acts.run_action(conversation.id, "send_sms", {"text": "Hi"})
    assert result.status == "skipped"
    assert result.detail.startswith("not sent:")
    assert _count(sessions, Message) == 0


async def test_notify_manager_and_missing_manager(
    sessions, database_url, rules_dir, factory
) -> None:
    boss = factory.user(name="Boss")
    rep = factory.user(name="Rep", manager_id=boss.id)
    loner = factory.user(name="Loner")
    acts = _acts(sessions, database_url, rules_dir)
    managed = factory.conversation(assignee_id=rep.id)
    unmanaged = factory.conversation(assignee_id=loner.id)
    unassigned = factory.conversation()
    params = {"to": "assignee.manager", "text": "{{ contact.name }} waits"}
    done = await acts.run_action(managed.id, "notify", params)
    assert done.status == "done"
    with sessions() as session:
        (note,) = session.scalars(select(Notification))
        assert note.user_id == boss.id and note.automation == "rule"
        assert session.scalar(select(LiveEvent).where(LiveEvent.kind == "notification.created"))
    missing = await acts.run_action(unmanaged.id, "notify", params)
    assert (missing.status, missing.detail) == ("skipped", f"assignee {loner.email} has no manager")
    nobody = await acts.run_action(unassigned.id, "notify", params)
    assert nobody.detail == "the conversation has no assignee"


async def test_round_robin_takes_turns(sessions, database_url, rules_dir, factory) -> None:
    a, b = factory.user(), factory.user()
    inbox = factory.inbox(members=[a, b])
    channel = factory.channel(default_inbox=inbox)
    acts = _acts(sessions, database_url, rules_dir)
    chosen = []
    for n in range(3):
        conversation = factory.conversation(channel=channel)
        await acts.run_action(conversation.id, "assign", {"to": "round_robin"}, f"rr{n}")
        with sessions() as session:
            chosen.append(session.get(Conversation, conversation.id).assignee_id)
    assert chosen == [a.id, b.id, a.id]


async def test_tags_fields_close_and_reopen(sessions, database_url, rules_dir, factory) -> None:
    conversation = factory.conversation()
    acts = _acts(sessions, database_url, rules_dir)
    steps = [
        ("add_tag", {"tag": "vip"}, "done"),
        ("add_tag", {"tag": "vip"}, "skipped"),
        ("set_field", {"field": "contact.fields.source", "value": "{{ message.body }}"}, "done"),
        ("close", {}, "done"),
        ("close", {}, "skipped"),
        ("reopen", {}, "done"),
        ("remove_tag", {"tag": "vip"}, "done"),
    ]
    for n, (kind, params, expected) in enumerate(steps):
        result = await acts.run_action(conversation.id, kind, params, f"s{n}")
        assert result.status == expected, (kind, result)
    with sessions() as session:
        stored = session.get(Conversation, conversation.id)
        assert stored.status == "open" and stored.tags == []
        assert stored.contact.fields == {"source": "hello"}


async def test_webhook_is_signed(sessions, database_url, rules_dir, factory, monkeypatch) -> None:
    received: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("CRM_SECRET", "s3cret")
        conversation = factory.conversation()
        acts = _acts(sessions, database_url, rules_dir)
        url = f"http://127.0.0.1:{server.server_port}/hook"
        params = {"url": url, "secret_env": "CRM_SECRET", "data": {"said": "{{ message.body }}"}}
        result = await acts.run_action(conversation.id, "webhook", params)
    finally:
        server.shutdown()
    assert result.status == "done"
    ((headers, body),) = received
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Inbox-Signature"] == expected
    assert headers["Idempotency-Key"] == f"{conversation.id}:rule:k:0"
    payload = json.loads(body)
    assert payload["conversation"]["id"] == conversation.id
    assert payload["data"] == {"said": "hello"}


def _store(sessions, database_url: str, rules_dir: Path) -> StoreActivities:
    return StoreActivities(sessions, _settings(database_url, rules_dir))


async def test_the_store_step_reads_the_rules_and_the_stored_facts(
    sessions, database_url, rules_dir, factory
) -> None:
    (rules_dir / "r.yaml").write_text(
        "- name: r\n  trigger: closed\n  if: [{contact.first_name: Ada}]\n  then: [reopen]\n"
    )
    (rules_dir / "bad.yaml").write_text("- name: b\n  trigger: closd\n  then: [reopen]\n")
    contact = factory.contact(name="Ada Lovelace", fields={"plan": "gold"})
    conversation = factory.conversation(contact=contact, tags=["vip"])
    store = _store(sessions, database_url, rules_dir)
    snap = await store.observe_conversation(
        ObserveInput(conversation_id=conversation.id, now=NOW, triggers=["closed"])
    )
    assert [r.name for r in snap.rules] == ["r"]  # the broken file is skipped
    assert snap.found and snap.facts is not None
    assert snap.facts["contact.first_name"] == "Ada"
    assert snap.facts["contact.fields.plan"] == "gold"
    assert snap.facts["conversation.tags"] == ["vip"]
    assert snap.facts["inbox.within_business_hours"] is True
    json.dumps(snap.facts)  # JSON-safe: it travels through Temporal
    gone = await store.observe_conversation(
        ObserveInput(conversation_id=999999, now=NOW, triggers=["closed"])
    )
    assert not gone.found
    none = await store.observe_conversation(
        ObserveInput(conversation_id=conversation.id, now=NOW, triggers=["opened"])
    )
    assert none.rules == [] and none.facts is None


async def test_a_skipped_run_is_recorded_once(sessions, database_url, rules_dir, factory) -> None:
    conversation = factory.conversation()
    acts = _acts(sessions, database_url, rules_dir)
    record = RunRecord(
        conversation_id=conversation.id,
        rule="r",
        version="abc",
        trigger="message_received",
        trigger_key="msg-1",
        outcome="skipped",
        reason="conversation.status is closed (needs open)",
        triggered_at=NOW,
        evaluated_at=NOW,
    )
    await acts.run_rule(RunRuleInput(record=record))
    await acts.run_rule(RunRuleInput(record=record))
    with sessions() as session:
        (run,) = session.scalars(select(RuleRun))
    assert run.actions == []
    assert (run.version, run.outcome, run.reason) == ("abc", "skipped", record.reason)


async def test_observe_writes_clocks_and_reads_rules_and_facts_in_one_step(
    sessions, database_url, rules_dir, factory
) -> None:
    (rules_dir / "r.yaml").write_text(
        "- name: ack\n  trigger: opened\n  if: [{conversation.tags: {excludes: vip}}]\n"
        "  then: [{send_sms: {text: Hi}}]\n"
        "- name: later\n  trigger: message_received\n  wait: 15m\n"
        "  if: [{conversation.awaiting_reply: true}]\n  then: [close]\n"
        "- name: off\n  enabled: false\n  trigger: opened\n  then: [close]\n"
        "- name: closing\n  trigger: closed\n  then: [reopen]\n"
    )
    conversation = factory.conversation(contact=factory.contact(name="Ada Lovelace"))
    store = _store(sessions, database_url, rules_dir)
    clocks = Clocks(first_inbound_at=NOW, last_inbound_at=NOW)
    observed = await store.observe_conversation(
        ObserveInput(
            conversation_id=conversation.id,
            now=NOW,
            clocks=clocks,
            triggers=["opened", "message_received"],
        )
    )
    # Enabled rules of either trigger, in file order; facts because "ack" runs at once and
    # reads the tags, which only the database knows.
    assert [rule.name for rule in observed.rules] == ["ack", "later"]
    assert observed.found and observed.facts is not None
    assert observed.facts["contact.first_name"] == "Ada"
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        assert row.last_inbound_at.replace(tzinfo=UTC) == NOW
        assert session.scalar(
            select(func.count())
            .select_from(LiveEvent)
            .where(LiveEvent.conversation_id == conversation.id)
        )
    # Only a delayed rule: nothing is evaluated now, so no facts are read.
    waiting = await store.observe_conversation(
        ObserveInput(conversation_id=conversation.id, now=NOW, triggers=["message_received"])
    )
    assert [rule.name for rule in waiting.rules] == ["later"]
    assert waiting.facts is None
    # A named rule (its wait fell due): its condition reads what the workflow knows (the last
    # message's direction), so no facts are read; without that, they are.
    known = {"conversation.last_direction": "inbound"}
    due = await store.observe_conversation(
        ObserveInput(conversation_id=conversation.id, now=NOW, rule="later", known=known)
    )
    assert [rule.name for rule in due.rules] == ["later"] and due.facts is None
    blind = await store.observe_conversation(
        ObserveInput(conversation_id=conversation.id, now=NOW, rule="later")
    )
    assert blind.found and blind.facts is not None
    gone = await store.observe_conversation(
        ObserveInput(conversation_id=conversation.id, now=NOW, rule="nope")
    )
    assert gone.rules == [] and gone.facts is None


async def test_a_rule_runs_its_actions_then_records_the_run_and_a_retry_repeats_nothing(
    sessions, database_url, rules_dir, factory
) -> None:
    conversation = factory.conversation(contact=factory.contact(name="Ada Lovelace"))
    acts = _acts(sessions, database_url, rules_dir)
    send = _action(conversation.id, "send_sms", {"text": "Bye {{ contact.first_name }}"})
    close = _action(conversation.id, "close", {})
    close.key = send.key[:-1] + "1"
    bad = _action(conversation.id, "no_such_action", {})
    bad.key = send.key[:-1] + "2"
    data = RunRuleInput(actions=[send, close, bad], record=_fired(conversation.id))
    first = await acts.run_rule(data)
    again = await acts.run_rule(data)  # a retry after a crash
    assert [r.status for r in first.actions] == ["done", "done", "failed"]
    assert "unknown action 'no_such_action'" in first.actions[2].detail
    assert [r.status for r in again.actions] == ["done", "done", "failed"]
    with sessions() as session:
        (message,) = session.scalars(select(Message))
        (run,) = session.scalars(select(RuleRun))
        assert session.get(Conversation, conversation.id).status == "closed"
    assert message.body == "Bye Ada"
    assert [a["kind"] for a in run.actions] == ["send_sms", "close", "no_such_action"]
    assert [a["status"] for a in run.actions] == ["done", "done", "failed"]
    assert _count(sessions, RuleAction) == 2
    # What the actions did to the conversation comes back for its workflow to apply (and not
    # as signals to it), the same on the retry: the automated reply's message_sent, the close.
    assert [e.signal for e in first.events] == [SIGNAL_MESSAGE_SENT, SIGNAL_CLOSED]
    assert first.events == again.events
    sent = first.events[0].event
    assert (sent.message_id, sent.automated, sent.by_automation) == (message.id, True, True)
    with sessions() as session:
        assert session.scalars(select(PendingSignal)).all() == []


async def test_a_failed_step_records_what_was_done_and_fails_the_rest(
    sessions, database_url, rules_dir, factory
) -> None:
    # The workflow gave up on the step (a long outage): nothing more is done; what the first
    # attempt did comes back; the rest are recorded as failed with the reason.
    conversation = factory.conversation()
    acts = _acts(sessions, database_url, rules_dir)
    tag = _action(conversation.id, "add_tag", {"tag": "new"})
    close = _action(conversation.id, "close", {})
    close.key = tag.key[:-1] + "1"
    await acts.run_rule(RunRuleInput(actions=[tag], record=_fired(conversation.id, "x")))
    reason = "the rule's step failed: the database is unreachable"
    failed = RunRuleInput(
        actions=[tag, close],
        record=replace(_fired(conversation.id), outcome="failed", reason=reason),
        failure=reason,
    )
    result = await acts.run_rule(failed)
    assert [(a.kind, a.status) for a in result.actions] == [
        ("add_tag", "done"),
        ("close", "failed"),
    ]
    with sessions() as session:
        assert session.get_one(Conversation, conversation.id).status == "open"
        run = session.scalars(select(RuleRun).where(RuleRun.trigger_key == "k")).one()
    assert (run.outcome, run.reason) == ("failed", reason)
    assert [a["status"] for a in run.actions] == ["done", "failed"]


async def test_a_template_the_sandbox_refuses_fails_the_action_not_the_step(
    sessions, database_url, rules_dir, factory
) -> None:
    conversation = factory.conversation()
    acts = _acts(sessions, database_url, rules_dir)
    taken = await acts.run_action(conversation.id, "send_sms", {"text": "{{ 1 / 0 }}"})
    assert taken.status == "failed" and "division by zero" in taken.detail
    assert _count(sessions, Message) == 0


def test_facts_a_template_names_are_read_alone(sessions, engine, factory) -> None:
    # An auto-reply that greets the contact by name reads the contact, not the inbox's hours,
    # the assignee or the message counts (a query each).
    conversation = factory.conversation(contact=factory.contact(name="Ada Lovelace"))
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    with sessions() as session:
        row = session.get_one(Conversation, conversation.id)
        event.listen(engine, "before_cursor_execute", count)
        try:
            some = build_facts(session, row, NOW, only={"contact.first_name"})
            alone = len(statements)
            every = build_facts(session, row, NOW)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert some["contact.first_name"] == "Ada"
    assert "inbox.next_open" not in some and "conversation.messages_sent" not in some
    assert alone == 1  # the contact
    assert {key: every[key] for key in some} == some  # the same values as a full read
    assert len(statements) > alone + 2


async def test_the_store_step_reads_the_inbox_hours_only_for_a_business_wait(
    sessions, engine, database_url, rules_dir, factory
) -> None:
    (rules_dir / "r.yaml").write_text(
        "- name: plain\n  trigger: closed\n  wait: 2h\n  then: [reopen]\n"
        "- name: business\n  trigger: message_received\n  wait: 2h\n  business: true\n"
        "  then: [close]\n"
    )
    weekdays = {"mon": [["09:00", "17:00"]], "fri": [["09:00", "16:00"]]}
    inbox = factory.inbox(
        timezone="America/New_York", business_hours=weekdays, holidays=["2025-12-25"]
    )
    conversation = factory.conversation(channel=factory.channel(default_inbox=inbox))
    store = _store(sessions, database_url, rules_dir)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        plain = await store.observe_conversation(
            ObserveInput(conversation_id=conversation.id, now=NOW, triggers=["closed"])
        )
        assert [r.name for r in plain.rules] == ["plain"] and plain.hours is None
        assert statements == []  # a plain wait needs nothing from the database
        business = await store.observe_conversation(
            ObserveInput(conversation_id=conversation.id, now=NOW, triggers=["message_received"])
        )
        # Its wait fell due: it is not armed again, so no hours.
        due = await store.observe_conversation(
            ObserveInput(
                conversation_id=conversation.id,
                now=NOW,
                rule="business",
                known={"conversation.status": "open"},
            )
        )
        assert due.hours is None
        asked = await store.observe_conversation(
            ObserveInput(conversation_id=conversation.id, now=NOW, hours=True)
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert business.rules[0].wait_business
    assert business.hours == BusinessHours(weekdays, "America/New_York", ["2025-12-25"])
    assert asked.rules == [] and asked.hours == business.hours
