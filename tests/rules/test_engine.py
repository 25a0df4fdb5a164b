# mypy: disable-error-code="type-arg,union-attr,no-untyped-call"
"""The pure engine: conditions, operators, reasons, trigger matching; time is passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbox.contracts import RuleSpec
from inbox.rules import engine, hours

NOW = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)  # a Wednesday

FACTS = {
    "conversation.status": "open",
    "conversation.inbox": "Support",
    "conversation.assignee": "rex@example.com",
    "conversation.last_direction": "inbound",
    "conversation.last_inbound_at": (NOW - timedelta(minutes=20)).isoformat(),
    "conversation.last_outbound_at": None,
    "conversation.time_to_first_response_seconds": 7200,
    "conversation.tags": ["vip", "Lead"],
    "contact.name": "Ada Lovelace",
    "contact.fields.plan": "gold",
    "contact.fields.seats": 12,
    "message.body": "What is your pricing for 10 seats?",
    "message.automated": False,
    "inbox.within_business_hours": True,
}


@pytest.mark.parametrize(
    "condition",
    [
        {"conversation.status": "open"},
        {"conversation.status": ["open", "closed"]},
        {"conversation.status": {"ne": "spam"}},
        {"conversation.inbox": "support"},  # names compare case-insensitively
        {"conversation.awaiting_reply": True},
        {"conversation.unassigned": False},
        {"conversation.minutes_since_last_inbound": {"gte": 20, "lt": 21}},
        {"conversation.time_to_first_response": 120},
        {"conversation.tags": "vip"},
        {"conversation.tags": {"includes": ["VIP", "lead"], "excludes": "spam"}},
        {"contact.fields.plan": {"in": ["gold", "silver"]}},
        {"contact.fields.seats": {"gt": 10}},
        {"contact.fields.missing": {"is_set": False}},
        {"contact.name": {"contains": "love"}},
        {"message.body": "PRICING"},
        {"message.body": {"keyword": ["price", "pricing"]}},
        {"message.body": {"pattern": r"\b\d+ seats"}},
        {"message.automated": False},
        {"inbox.within_business_hours": True},
        {"any": [{"conversation.status": "closed"}, {"conversation.tags": "vip"}]},
        {"all": [{"conversation.status": "open"}, {"not": [{"conversation.tags": "spam"}]}]},
        {"not": {"conversation.status": "closed"}},
    ],
)
def test_conditions_that_hold(condition: dict) -> None:
    assert engine.evaluate([condition], FACTS, NOW) == engine.Verdict(True)


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ({"conversation.status": "closed"}, "conversation.status is 'open' (needs 'closed')"),
        (
            {"conversation.minutes_since_last_outbound": {"gte": 5}},
            "conversation.minutes_since_last_outbound is unset (needs >= 5)",
        ),
        (
            {"message.body": {"keyword": "price"}},
            "message.body is 'What is your pricing for 10 seats?' (needs the keyword 'price')",
        ),
        (
            {"conversation.time_to_close": {"lt": 60}},
            "conversation.time_to_close is unset (needs < 60)",
        ),
        (
            {"any": [{"conversation.status": "closed"}, {"conversation.tags": "x"}]},
            "none of: conversation.status is 'open' (needs 'closed'); "
            "conversation.tags is ['vip', 'Lead'] (needs to include 'x')",
        ),
    ],
)
def test_failures_name_the_condition(condition: dict, reason: str) -> None:
    assert engine.evaluate([condition], FACTS, NOW) == engine.Verdict(False, reason)


def test_time_is_passed_in_not_read() -> None:
    condition = [{"conversation.minutes_since_last_inbound": {"gte": 4320}}]
    assert not engine.evaluate(condition, FACTS, NOW).ok
    assert engine.evaluate(condition, FACTS, NOW + timedelta(days=3)).ok


def _rule(**kw) -> RuleSpec:
    return RuleSpec(name="r", version="v", source="x:1", triggers=["message_received"], **kw)


def test_automation_caused_messages_need_opt_in() -> None:
    assert engine.matches_trigger(_rule(), "message_received", caused_by_automation=False)
    assert not engine.matches_trigger(_rule(), "message_received", caused_by_automation=True)
    assert engine.matches_trigger(_rule(include_automated=True), "message_received", True)
    closed = RuleSpec(name="c", version="v", source="x:1", triggers=["closed"])
    assert engine.matches_trigger(closed, "closed", caused_by_automation=True)
    assert not engine.matches_trigger(_rule(enabled=False), "message_received", False)


def test_business_hours_in_the_inbox_time_zone() -> None:
    schedule = {"wed": [["09:00", "17:00"]], "thu": [["09:00", "17:00"]]}
    # 12:00 UTC is 07:00 in New York (EST, UTC-5): closed, opens at 9:00 local.
    assert hours.is_open(schedule, "UTC", NOW)
    assert not hours.is_open(schedule, "America/New_York", NOW)
    assert hours.describe_next_open(schedule, "America/New_York", NOW) == "today at 9:00"
    late = NOW + timedelta(hours=8)  # 20:00 UTC
    assert hours.describe_next_open(schedule, "UTC", late) == "tomorrow at 9:00"
    assert hours.describe_next_open(schedule, "UTC", NOW + timedelta(days=1, hours=8)) == (
        "Wednesday at 9:00"
    )
    assert hours.is_open({}, "UTC", NOW)  # no schedule: always open


KNOWN = {  # what the workflow holds itself: its clocks and the message
    "conversation.status": "open",
    "conversation.last_direction": "inbound",
    "conversation.last_inbound_at": (NOW - timedelta(minutes=20)).isoformat(),
    "message.body": "pricing please",
    "message.automated": False,
}


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([{"conversation.awaiting_reply": True}], True),
        ([{"conversation.minutes_since_last_inbound": {"gte": 15}}], True),
        ([{"conversation.status": "closed"}], False),
        ([{"message.body": {"keyword": "pricing"}}], True),
        ([], True),
        # Decided by the first branch: the stored tags are never needed.
        ([{"any": [{"conversation.status": "open"}, {"conversation.tags": "vip"}]}], True),
    ],
)
def test_conditions_on_what_the_workflow_knows_need_no_database(conditions, expected) -> None:
    verdict = engine.evaluate_known(conditions, KNOWN, NOW)
    assert verdict is not None and verdict.ok is expected
    # And it is the verdict the full facts give (the workflow's facts win over the snapshot).
    full = {**FACTS, **KNOWN}
    assert engine.evaluate(conditions, full, NOW).ok is expected


@pytest.mark.parametrize(
    "conditions",
    [
        [{"conversation.tags": "vip"}],
        [{"contact.fields.plan": "gold"}],
        [{"conversation.status": "open"}, {"inbox.within_business_hours": True}],
        [{"conversation.unassigned": True}],
    ],
)
def test_conditions_on_stored_facts_ask_for_them(conditions) -> None:
    assert engine.evaluate_known(conditions, KNOWN, NOW) is None
    rule = RuleSpec(name="r", version="v", source="f", triggers=["closed"], conditions=conditions)
    assert engine.needs_stored_facts(rule, KNOWN, NOW)
