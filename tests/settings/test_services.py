"""Settings services: channels, inboxes, users, custom fields, merge fields, export, API keys,
automation status — each change recorded in the audit log, each refusal clear."""

from __future__ import annotations

import csv
import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from inbox.models import (
    AuditLog,
    ContactEvent,
    Conversation,
    ConversationStatus,
    Direction,
    EventKind,
    Inbox,
    Message,
    MessageStatus,
    PasswordToken,
    PendingSignal,
    RuleRun,
    utcnow,
)
from inbox.passwords import hash_password
from inbox.services import api_keys as key_service
from inbox.services import sessions
from inbox.services.admin import (
    api_keys,
    automation,
    channels,
    export,
    fields,
    inboxes,
    merge_fields,
    users,
)
from inbox.services.admin.errors import SettingsError


def audit_actions(session) -> list[str]:
    return [a.action for a in session.scalars(select(AuditLog).order_by(AuditLog.id))]


def test_channels_create_update_delete(factory, session):
    admin = factory.user()
    sales = factory.inbox(name="Sales")
    channel = channels.create_channel(
        session,
        name=" Main ",
        number="(415) 555-0100",
        default_inbox_id=sales.id,
        actor_id=admin.id,
    )
    assert (channel.name, channel.number, channel.type) == ("Main", "+14155550100", "sms")
    with pytest.raises(SettingsError, match="belongs to channel 'Main'") as info:
        channels.create_channel(
            session, name="Two", number="+14155550100", default_inbox_id=sales.id
        )
    assert info.value.field == "number"
    with pytest.raises(SettingsError, match="number"):
        channels.create_channel(session, name="Two", number="nope", default_inbox_id=sales.id)
    with pytest.raises(SettingsError, match="default inbox"):
        channels.create_channel(session, name="Two", number="+14155550101", default_inbox_id=999)
    support = factory.inbox(name="Support")
    channels.update_channel(
        session, channel=channel, name="Main", number="+14155550100", default_inbox_id=support.id
    )
    assert channel.default_inbox_id == support.id
    factory.conversation(channel=channel)
    with pytest.raises(SettingsError, match="has conversations"):
        channels.delete_channel(session, channel=channel)
    spare = channels.create_channel(
        session, name="Spare", number="+14155550199", default_inbox_id=sales.id
    )
    channels.delete_channel(session, channel=spare)
    assert audit_actions(session) == [
        "channel.create", "channel.update", "channel.create", "channel.delete"
    ]  # fmt: skip


def test_inbox_settings_and_hours(factory, session):
    dana, eli = factory.user(name="Dana"), factory.user(name="Eli")
    hours = inboxes.parse_hours({"mon": "09:00-12:00, 13:00-17:00", "sat": " "})
    assert hours == {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}
    assert inboxes.format_hours(hours)["mon"] == "09:00-12:00, 13:00-17:00"
    with pytest.raises(SettingsError, match="tue"):
        inboxes.parse_hours({"tue": "17:00-09:00"})
    inbox = inboxes.save_inbox(
        session,
        inbox=None,
        name="Sales",
        default_assignee_id=dana.id,
        member_ids=[eli.id],
        business_hours=hours,
        timezone="America/New_York",
    )
    assert {u.name for u in inbox.members} == {"Dana", "Eli"}  # the assignee is a member
    with pytest.raises(SettingsError, match="time zone"):
        inboxes.save_inbox(
            session, inbox=inbox, name="Sales", default_assignee_id=None, member_ids=[],
            business_hours={}, timezone="Mars/Base",
        )  # fmt: skip
    with pytest.raises(SettingsError, match="exists already"):
        inboxes.save_inbox(
            session, inbox=None, name="Sales", default_assignee_id=None, member_ids=[],
            business_hours={}, timezone="UTC",
        )  # fmt: skip


def test_inbox_with_conversations_is_deleted_only_by_moving_them(factory, session):
    old, new = factory.inbox(name="Old"), factory.inbox(name="New")
    convo = factory.conversation(inbox_id=old.id)
    with pytest.raises(SettingsError, match="1 conversation") as info:
        inboxes.delete_inbox(session, inbox=old)
    assert info.value.field == "move_to_id"
    with pytest.raises(SettingsError, match="default inbox of channel"):
        inboxes.delete_inbox(session, inbox=session.get(type(old), convo.channel.default_inbox_id))
    assert inboxes.delete_inbox(session, inbox=old, move_to_id=new.id) == 1
    session.commit()
    assert convo.inbox_id == new.id
    moved = session.scalars(select(ContactEvent).where(ContactEvent.kind == EventKind.MOVED)).one()
    assert moved.conversation_id == convo.id
    assert [s.signal for s in session.scalars(select(PendingSignal))] == ["moved"]


def test_users_invite_link_works_once(factory, session):
    admin = factory.user(role="admin")
    invited = users.add_user(
        session, email="New@Example.com", name="Nia", role="agent", password=None, actor_id=admin.id
    )
    assert invited.email == "new@example.com" and invited.password_hash is None
    token = users.issue_link(session, user=invited, actor_id=admin.id)
    assert users.user_for_token(session, token).id == invited.id
    with pytest.raises(SettingsError, match="not valid"):
        users.user_for_token(session, token + "x")
    with pytest.raises(SettingsError, match="8 characters"):
        users.set_password_with_token(session, token=token, password="short")
    assert users.set_password_with_token(session, token=token, password="long enough") == invited
    with pytest.raises(SettingsError, match="used already"):
        users.user_for_token(session, token)
    with pytest.raises(SettingsError, match="used already"):
        users.set_password_with_token(session, token=token, password="another long one")
    with pytest.raises(SettingsError, match="email"):
        users.add_user(session, email="new@example.com", name="X", role="agent", password=None)
    assert audit_actions(session) == ["user.invite", "user.set_password"]


def test_a_newer_link_replaces_the_older_and_only_its_hash_is_kept(factory, session):
    invited = factory.user(password_hash=None)
    first = users.issue_link(session, user=invited)
    second = users.issue_link(session, user=invited)
    session.commit()
    with pytest.raises(SettingsError, match="replaced by a newer one"):
        users.user_for_token(session, first)
    assert users.user_for_token(session, second) == invited
    stored = {row.token_hash for row in session.scalars(select(PasswordToken))}
    assert first not in stored and second not in stored  # hashes only


def test_links_expire_an_invitation_in_7_days_and_a_reset_in_24_hours(factory, session):
    invited = factory.user(password_hash=None)
    member = factory.user(password_hash=hash_password("old password"))
    invite = users.issue_link(session, user=invited)
    reset = users.issue_link(session, user=member)
    session.commit()
    rows = {row.user_id: row for row in session.scalars(select(PasswordToken))}
    assert rows[invited.id].purpose == "invite" and rows[member.id].purpose == "reset"
    assert rows[invited.id].expires_at - rows[invited.id].created_at == timedelta(days=7)
    assert rows[member.id].expires_at - rows[member.id].created_at == timedelta(hours=24)
    rows[member.id].expires_at = utcnow() - timedelta(seconds=1)  # its day is over
    session.commit()
    with pytest.raises(SettingsError, match="expired"):
        users.user_for_token(session, reset)
    assert users.user_for_token(session, invite) == invited


def test_a_new_password_signs_the_user_out_everywhere(factory, session):
    member = factory.user(password_hash=hash_password("old password"))
    sessions.start(session, user=member)
    sessions.start(session, user=member)
    token = users.issue_link(session, user=member)
    session.commit()
    users.set_password_with_token(session, token=token, password="a new password")
    session.commit()
    assert sessions.of_user(session, member.id) == []


def test_manager_loops_and_self_demotion_are_refused(factory, session):
    admin = factory.user(role="admin")
    boss = factory.user(role="manager")
    agent = factory.user()
    users.update_user(session, user=agent, name=agent.name, role="agent", manager_id=boss.id)
    with pytest.raises(SettingsError, match="loop"):
        users.update_user(session, user=boss, name=boss.name, role="manager", manager_id=agent.id)
    with pytest.raises(SettingsError, match="own admin role"):
        users.update_user(
            session, user=admin, name=admin.name, role="agent", manager_id=None, actor_id=admin.id
        )


def test_deactivate_returns_open_conversations_to_each_inbox_default(factory, session):
    admin = factory.user(role="admin")
    leaving, dana = factory.user(name="Leaving"), factory.user(name="Dana")
    sales = factory.inbox(name="Sales", default_assignee_id=dana.id)
    own = factory.inbox(name="Own", default_assignee_id=leaving.id)
    in_sales = factory.conversation(inbox_id=sales.id, assignee_id=leaving.id)
    in_own = factory.conversation(inbox_id=own.id, assignee_id=leaving.id)
    closed = factory.conversation(
        inbox_id=sales.id, assignee_id=leaving.id, status=ConversationStatus.CLOSED
    )
    assert users.deactivate(session, user=leaving, actor_id=admin.id) == 2
    session.commit()
    assert in_sales.assignee_id == dana.id
    assert in_own.assignee_id is None and own.default_assignee_id is None
    assert closed.assignee_id == leaving.id  # closed ones keep their history
    events = session.scalars(select(ContactEvent).where(ContactEvent.kind == EventKind.ASSIGNED))
    assert sorted(e.conversation_id for e in events) == sorted([in_sales.id, in_own.id])
    with pytest.raises(SettingsError, match="deactivated already"):
        users.deactivate(session, user=leaving, actor_id=admin.id)
    with pytest.raises(SettingsError, match="yourself"):
        users.deactivate(session, user=admin, actor_id=admin.id)
    users.reactivate(session, user=leaving, actor_id=admin.id)
    assert leaving.is_active


def test_custom_fields_and_values(session):
    plan = fields.create_field(
        session, entity="contact", key="plan", label="Plan", type="choice",
        choices=fields.parse_choices("Basic, Pro\nPro\n"),
    )  # fmt: skip
    assert plan.choices == ["Basic", "Pro"]
    with pytest.raises(SettingsError, match="exists already"):
        fields.create_field(session, entity="contact", key="plan", label="P", type="text")
    fields.create_field(session, entity="conversation", key="plan", label="Deal plan", type="text")
    with pytest.raises(SettingsError, match="key"):
        fields.create_field(session, entity="contact", key="Bad Key", label="X", type="text")
    with pytest.raises(SettingsError, match="at least one choice"):
        fields.create_field(session, entity="contact", key="c", label="C", type="choice")
    seats = fields.create_field(
        session, entity="contact", key="seats", label="Seats", type="number"
    )
    renewal = fields.create_field(session, entity="contact", key="renewal", label="R", type="date")
    assert fields.coerce_value(seats, "12") == 12 and fields.coerce_value(seats, "1.5") == 1.5
    assert fields.coerce_value(renewal, "2024-05-01") == "2024-05-01"
    assert fields.coerce_value(plan, " ") is None
    for definition, raw in ((seats, "many"), (renewal, "May 1"), (plan, "Gold")):
        with pytest.raises(SettingsError):
            fields.coerce_value(definition, raw)
    fields.update_field(
        session, definition=plan, label="Plan tier", choices=["Basic", "Pro", "Max"]
    )
    fields.delete_field(session, definition=seats)
    assert [d.key for d in fields.definitions(session, "contact")] == ["plan", "renewal"]


def test_merge_field_preview_against_a_real_contact(factory, session):
    fields.create_field(session, entity="contact", key="company", label="Company", type="text")
    dana = factory.user(name="Dana Scully")
    inbox = factory.inbox(name="Sales", default_assignee_id=dana.id)
    contact = factory.contact(name="Ana Lima", fields={"company": "Acme"})
    factory.conversation(channel=factory.channel(default_inbox=inbox), contact=contact,
                         assignee_id=dana.id)  # fmt: skip
    names = {f.name for f in merge_fields.available(session)}
    assert {"contact.first_name", "agent.name", "contact.fields.company"} <= names
    result = merge_fields.preview(
        session,
        template="Hi {{ contact.first_name }} at {{ contact.fields.company }}, "
        "{{ assignee.first_name }} from {{ inbox.name }} here.",
        contact=contact,
    )
    assert result.problems is None
    assert result.text == "Hi Ana at Acme, Dana from Sales here."
    loner = factory.contact(name="Solo Person")
    assert merge_fields.preview(session, template="{{ contact.name }}", contact=loner).text == (
        "Solo Person"
    )
    bad = merge_fields.preview(session, template="{{ contact.nmae }}", contact=contact)
    assert bad.problems and "did you mean 'contact.name'" in bad.problems[0]
    escape = merge_fields.preview(
        session, template="{{ contact.__class__.__mro__ }}", contact=contact
    )
    assert escape.problems  # the sandbox refuses, the page shows why


def test_exports_stream_contacts_and_conversations(factory, sessions, session):
    fields.create_field(session, entity="contact", key="company", label="Company", type="text")
    session.commit()
    contact = factory.contact(name="=HYPERLINK(evil)", number="+12025550101",
                              fields={"company": "Acme"})  # fmt: skip
    convo = factory.conversation(contact=contact)
    empty = factory.conversation()
    session.add(
        Message(
            conversation_id=convo.id, contact_id=contact.id, channel_id=convo.channel_id,
            direction=Direction.INBOUND, body="hello, \"world\"\nbye", from_number="+12025550101",
            to_number="+14155550100", provider="simulator", status=MessageStatus.RECEIVED,
        )
    )  # fmt: skip
    session.commit()
    people = list(csv.DictReader(io.StringIO("".join(export.contacts_csv(sessions)))))
    mine = next(p for p in people if p["id"] == str(contact.id))
    assert mine["name"] == "'=HYPERLINK(evil)"  # not a formula in a spreadsheet
    assert mine["numbers"] == "+12025550101"  # a phone number is not mangled
    assert mine["fields.company"] == "Acme"
    rows = list(csv.DictReader(io.StringIO("".join(export.conversations_csv(sessions)))))
    assert [r["conversation_id"] for r in rows] == [str(convo.id), str(empty.id)]
    assert rows[0]["body"] == 'hello, "world"\nbye' and rows[0]["direction"] == "inbound"
    assert rows[1]["message_id"] == ""


def test_api_keys_created_once_and_revoked(factory, session):
    admin = factory.user()
    row, plain = api_keys.create(session, name="CRM", actor_id=admin.id)
    assert plain.startswith(f"inbx_{row.prefix}_") and plain not in row.key_hash
    assert key_service.authenticate(session, plain) is not None
    api_keys.revoke(session, key=row, actor_id=admin.id)
    assert key_service.authenticate(session, plain) is None
    with pytest.raises(SettingsError, match="revoked already"):
        api_keys.revoke(session, key=row)
    with pytest.raises(SettingsError, match="name"):
        api_keys.create(session, name=" ")
    assert audit_actions(session) == ["api_key.create", "api_key.revoke"]


def test_automation_status_lists_rules_problems_and_runs(factory, session, tmp_path: Path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "good.yaml").write_text(
        "- name: welcome\n  trigger: message_received\n  then:\n    - add_note: hi\n"
    )
    (rules / "bad.yaml").write_text("- name: broken\n  trigger: message_recieved\n  then: []\n")
    os.utime(rules / "good.yaml", (1_700_000_000, 1_700_000_000))
    files = {f.path.rsplit("/", 1)[-1]: f for f in automation.rule_files_status(rules)}
    assert [r.name for r in files["good.yaml"].rules] == ["welcome"] and files["good.yaml"].ok
    assert files["good.yaml"].changed_at is not None
    assert files["good.yaml"].changed_at.timestamp() == 1_700_000_000
    assert not files["bad.yaml"].ok
    assert "message_received" in str(files["bad.yaml"].problems[0])
    convo = factory.conversation()
    session.add(
        RuleRun(run_key="k1", rule="welcome", version="abc", conversation_id=convo.id,
                trigger="message_received", trigger_key="msg-1", outcome="skipped",
                reason="conversation.status is closed, not open")
    )  # fmt: skip
    session.commit()
    [run] = automation.recent_runs(session)
    assert run.reason.startswith("conversation.status")
    assert automation.recent_runs(session, outcome="fired") == []
    assert session.get(Conversation, convo.id) is not None


def test_inbox_holidays_are_parsed_saved_and_audited(factory, session):
    assert inboxes.parse_holidays("2026-12-25, 2026-01-01\n2026-12-25  2027-01-01") == [
        "2026-01-01", "2026-12-25", "2027-01-01"
    ]  # fmt: skip
    assert inboxes.parse_holidays("  ") == []
    assert inboxes.format_holidays(["2026-01-01", "2026-12-25"]) == "2026-01-01, 2026-12-25"
    for bad in ("2026-02-30", "25/12/2026", "2026-12-25,tomorrow"):
        with pytest.raises(SettingsError, match="is not a date like 2026-12-25") as caught:
            inboxes.parse_holidays(bad)
        assert caught.value.field == "holidays"
    inbox = inboxes.save_inbox(
        session, inbox=None, name="Sales", default_assignee_id=None, member_ids=[],
        business_hours={}, timezone="UTC", holidays=["2026-12-25"],
    )  # fmt: skip
    inboxes.save_inbox(
        session, inbox=inbox, name="Sales", default_assignee_id=None, member_ids=[],
        business_hours={}, timezone="UTC",
    )  # fmt: skip
    assert inbox.holidays == ["2026-12-25"]  # None keeps them
    inboxes.save_inbox(
        session, inbox=inbox, name="Sales", default_assignee_id=None, member_ids=[],
        business_hours={}, timezone="UTC", holidays=[],
    )  # fmt: skip
    session.commit()
    assert session.get(Inbox, inbox.id).holidays == []
    [update] = session.scalars(select(AuditLog).where(AuditLog.action == "inbox.update")).all()
    assert update.details == {"holidays": [["2026-12-25"], []]}
