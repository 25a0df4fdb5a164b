# mypy: disable-error-code="type-arg,union-attr,no-untyped-call"
"""The automation activities against the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from sqlalchemy import event, func, select

from activities.automation import AutomationActivities
from activities.sms import SmsActivities
from inbox.contracts import (
    ActionTaken,
    ConversationState,
    DeliverMessageInput,
    FireEventInput,
    LoadRulesInput,
    ObserveInput,
    RecordRunInput,
    RunActionInput,
    SnapshotInput,
)
from inbox.models import (
    Conversation,
    LiveEvent,
    Message,
    Notification,
    RuleAction,
    RuleRun,
    SimulatorMessage,
)
from inbox.providers import SimulatorProvider
from inbox.rules.snapshot import build_facts
from inbox.settings import Settings

NOW = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)


def _acts(sessions, database_url: str, rules_dir: Path) -> AutomationActivities:
    settings = Settings(database_url=database_url, rules_dir=rules_dir)
    return AutomationActivities(sessions, settings, flush_signals=False)


def _action(conversation_id: int, kind: str, params: dict, key: str = "k") -> RunActionInput:
    return RunActionInput(
        key=f"{conversation_id}:rule:{key}:0",
        conversation_id=conversation_id,
        rule="rule",
        version="v1",
        trigger="message_received",
        kind=kind,
        params=params,
        now=NOW,
        message_body="hello",
    )


def _fired(conversation_id: int) -> RecordRunInput:
    """The run record of rule "rule" firing on ``conversation_id`` (its actions added later)."""
    return RecordRunInput(
        conversation_id=conversation_id,
        rule="rule",
        version="v1",
        trigger="message_received",
        trigger_key="k",
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
    data = _action(conversation.id, "send_sms", {"text": "Hi {{ contact.first_name }}"})
    first = await acts.run_action(data)
    again = await acts.run_action(data)
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
    result = await acts.run_action(_action(conversation.id, "send_sms", {"text": "Hi"}))
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
    done = await acts.run_action(_action(managed.id, "notify", params))
    assert done.status == "done"
    with sessions() as session:
        (note,) = session.scalars(select(Notification))
        assert note.user_id == boss.id and note.automation == "rule"
        assert session.scalar(select(LiveEvent).where(LiveEvent.kind == "notification.created"))
    missing = await acts.run_action(_action(unmanaged.id, "notify", params))
    assert (missing.status, missing.detail) == ("skipped", f"assignee {loner.email} has no manager")
    nobody = await acts.run_action(_action(unassigned.id, "notify", params))
    assert nobody.detail == "the conversation has no assignee"


async def test_round_robin_takes_turns(sessions, database_url, rules_dir, factory) -> None:
    a, b = factory.user(), factory.user()
    inbox = factory.inbox(members=[a, b])
    channel = factory.channel(default_inbox=inbox)
    acts = _acts(sessions, database_url, rules_dir)
    chosen = []
    for n in range(3):
        conversation = factory.conversation(channel=channel)
        await acts.run_action(_action(conversation.id, "assign", {"to": "round_robin"}, f"rr{n}"))
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
        result = await acts.run_action(_action(conversation.id, kind, params, f"s{n}"))
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
        result = await acts.run_action(_action(conversation.id, "webhook", params))
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


async def test_snapshot_and_load_rules(sessions, database_url, rules_dir, factory) -> None:
    (rules_dir / "r.yaml").write_text("- name: r\n  trigger: closed\n  then: [reopen]\n")
    (rules_dir / "bad.yaml").write_text("- name: b\n  trigger: closd\n  then: [reopen]\n")
    contact = factory.contact(name="Ada Lovelace", fields={"plan": "gold"})
    conversation = factory.conversation(contact=contact, tags=["vip"])
    acts = _acts(sessions, database_url, rules_dir)
    snap = await acts.snapshot(SnapshotInput(conversation_id=conversation.id, now=NOW))
    assert snap.found
    assert snap.facts["contact.first_name"] == "Ada"
    assert snap.facts["contact.fields.plan"] == "gold"
    assert snap.facts["conversation.tags"] == ["vip"]
    assert snap.facts["inbox.within_business_hours"] is True
    json.dumps(snap.facts)  # JSON-safe: it travels through Temporal
    assert not (await acts.snapshot(SnapshotInput(conversation_id=999999, now=NOW))).found
    loaded = await acts.load_rules(LoadRulesInput(trigger="closed"))
    assert [r.name for r in loaded.rules] == ["r"]
    assert "'closd' is not a valid trigger for rule 'b'" in loaded.problems[0]
    assert (await acts.load_rules(LoadRulesInput(trigger="opened"))).rules == []


async def test_record_run_is_stored_once(sessions, database_url, rules_dir, factory) -> None:
    conversation = factory.conversation()
    acts = _acts(sessions, database_url, rules_dir)
    data = RecordRunInput(
        conversation_id=conversation.id,
        rule="r",
        version="abc",
        trigger="message_received",
        trigger_key="msg-1",
        outcome="fired",
        actions=[ActionTaken("close", "done", "closed")],
        triggered_at=NOW,
        evaluated_at=NOW,
    )
    await acts.record_run(data)
    await acts.record_run(data)
    with sessions() as session:
        (run,) = session.scalars(select(RuleRun))
    assert run.actions == [{"kind": "close", "status": "done", "detail": "closed"}]
    assert (run.version, run.outcome) == ("abc", "fired")


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
    acts = _acts(sessions, database_url, rules_dir)
    clocks = ConversationState(
        conversation_id=conversation.id, first_inbound_at=NOW, last_inbound_at=NOW
    )
    observed = await acts.observe(
        ObserveInput(
            conversation_id=conversation.id,
            now=NOW,
            clocks=clocks,
            triggers=["opened", "message_received"],
        )
    )
    # Enabled rules of either trigger, in file order; facts because "ack" runs at once and
    # reads the tags, which only the database knows.
    assert [rule.name for rule in observed.rules.rules] == ["ack", "later"]
    assert observed.snapshot is not None and observed.snapshot.found
    assert observed.snapshot.facts["contact.first_name"] == "Ada"
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        assert row.last_inbound_at.replace(tzinfo=UTC) == NOW
        assert session.scalar(
            select(func.count())
            .select_from(LiveEvent)
            .where(LiveEvent.conversation_id == conversation.id)
        )
    # Only a delayed rule: nothing is evaluated now, so no facts are read.
    waiting = await acts.observe(
        ObserveInput(conversation_id=conversation.id, now=NOW, triggers=["message_received"])
    )
    assert [rule.name for rule in waiting.rules.rules] == ["later"]
    assert waiting.snapshot is None
    # A named rule (its wait fell due): its condition reads what the workflow knows (the last
    # message's direction), so no facts are read; without that, they are.
    known = {"conversation.last_direction": "inbound"}
    due = await acts.observe(
        ObserveInput(conversation_id=conversation.id, now=NOW, rule="later", known=known)
    )
    assert [rule.name for rule in due.rules.rules] == ["later"] and due.snapshot is None
    blind = await acts.observe(ObserveInput(conversation_id=conversation.id, now=NOW, rule="later"))
    assert blind.snapshot is not None and blind.snapshot.found
    gone = await acts.observe(ObserveInput(conversation_id=conversation.id, now=NOW, rule="nope"))
    assert gone.rules.rules == [] and gone.snapshot is None


async def test_fire_runs_actions_then_records_the_run_and_a_retry_repeats_nothing(
    sessions, database_url, rules_dir, factory
) -> None:
    conversation = factory.conversation(contact=factory.contact(name="Ada Lovelace"))
    acts = _acts(sessions, database_url, rules_dir)
    send = _action(conversation.id, "send_sms", {"text": "Bye {{ contact.first_name }}"})
    close = _action(conversation.id, "close", {})
    close.key = send.key[:-1] + "1"
    bad = _action(conversation.id, "no_such_action", {})
    bad.key = send.key[:-1] + "2"
    data = FireEventInput(
        actions=[send, close, bad],
        record=_fired(conversation.id),
    )
    first = await acts.fire(data)
    again = await acts.fire(data)  # a retry after a crash
    assert [r.status for r in first.results] == ["done", "done", "failed"]
    assert "unknown action 'no_such_action'" in first.results[2].detail
    assert [r.status for r in again.results] == ["done", "done", "failed"]
    assert len(first.results[0].message_ids) == 1
    with sessions() as session:
        (message,) = session.scalars(select(Message))
        (run,) = session.scalars(select(RuleRun))
        assert session.get(Conversation, conversation.id).status == "closed"
    assert message.body == "Bye Ada"
    assert [a["kind"] for a in run.actions] == ["send_sms", "close", "no_such_action"]
    assert [a["status"] for a in run.actions] == ["done", "done", "failed"]
    assert _count(sessions, RuleAction) == 2


async def test_fire_writes_the_event_clocks_it_is_handed_before_acting(
    sessions, database_url, rules_dir, factory
) -> None:
    # Rules carried in the signal: the event's clocks go with its first rule's step.
    conversation = factory.conversation()
    acts = _acts(sessions, database_url, rules_dir)
    clocks = ConversationState(
        conversation_id=conversation.id, first_inbound_at=NOW, last_inbound_at=NOW
    )
    tag = _action(conversation.id, "add_tag", {"tag": "new"})
    await acts.fire(FireEventInput(actions=[tag], record=_fired(conversation.id), clocks=clocks))
    with sessions() as session:
        row = session.get_one(Conversation, conversation.id)
        stored = (row.first_inbound_at, row.last_inbound_at)
        assert [at.replace(tzinfo=UTC) if at.tzinfo is None else at for at in stored] == [NOW, NOW]
        assert row.tags == ["new"]


async def test_an_sms_an_action_queues_is_handed_over_in_the_same_step(
    sessions, database_url, rules_dir, factory
) -> None:
    # Its first attempt is counted in the action's own transaction, then the provider is called.
    conversation = factory.conversation(contact=factory.contact(name="Ada Lovelace"))
    provider = SimulatorProvider(sessions)
    acts = AutomationActivities(
        sessions,
        Settings(database_url=database_url, rules_dir=rules_dir),
        flush_signals=False,
        delivery=SmsActivities(sessions, provider),
    )
    send = _action(conversation.id, "send_sms", {"text": "Hi {{ contact.first_name }}"})
    result = await acts.run_action(send)
    with sessions() as session:
        message = session.get_one(Message, result.message_ids[0])
        phone = session.scalars(select(SimulatorMessage)).one()
    assert result.delivered_ids == result.message_ids
    attempt = (message.send_attempts, message.provider, message.status)
    assert attempt == (1, "simulator", "delivered")
    assert (phone.body, phone.client_ref) == ("Hi Ada", str(message.id))


async def test_a_failed_first_attempt_leaves_the_message_to_the_workflow_delivery(
    sessions, database_url, rules_dir, factory
) -> None:
    # The provider is down: the attempt stays counted, the workflow's delivery takes over and
    # reconciles (nothing was sent) before sending it once.
    conversation = factory.conversation()
    provider = SimulatorProvider(sessions)
    sms = SmsActivities(sessions, provider)
    acts = AutomationActivities(
        sessions,
        Settings(database_url=database_url, rules_dir=rules_dir),
        flush_signals=False,
        delivery=sms,
    )
    provider.outage = True
    result = await acts.run_action(_action(conversation.id, "send_sms", {"text": "Hello"}))
    (message_id,) = result.message_ids
    assert result.delivered_ids == []
    with sessions() as session:
        message = session.get_one(Message, message_id)
        assert (message.send_attempts, message.status) == (1, "sending")
    provider.outage = False
    delivered = sms.deliver_message(DeliverMessageInput(message_id=message_id))
    assert delivered.status == "delivered"
    assert _count(sessions, SimulatorMessage) == 1
    with sessions() as session:
        assert session.get_one(Message, message_id).send_attempts == 2


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
