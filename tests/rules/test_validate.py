# mypy: disable-error-code="type-arg,union-attr,no-untyped-call"
"""Validation: every problem as `file:line: message`, snapshot-tested word for word."""

# ruff: noqa: E501 - expected messages are kept whole, one per line, as users see them

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inbox.rules.durations import InvalidDuration, format_duration, parse_duration
from inbox.rules.schema import json_schema
from inbox.rules.validate import Known, check_path, check_text

REPO = Path(__file__).resolve().parents[2]

BROKEN = """\
- name: slow-reply
  description: typos everywhere
  trigger: message_recieved
  wiat: 15m
  if:
    - conversation.stauts: open
    - conversation.status: opne
    - conversation.minutes_since_last_inbound: {gte: soon}
    - any:
        - message.body: {keywrd: pricing}
        - message.body: {pattern: "(unclosed"}
  then:
    - sned_sms: hi
    - send_sms: "Hi {{ contact.frist_name }}"
    - send_sms: "{{ contact.first_name }"
    - notify: {to: assignee.manger, text: hi}
    - move: {inbx: Sales}
- name: second
  trigger: closed
  wait: 15 minutes
  run_once: maybe
  then: [close]
- name: Bad Name
  then:
    - move: Slaes
    - assign: sam@example.org
"""

EXPECTED = """\
rules/slow-reply.yaml:3: 'message_recieved' is not a valid trigger for rule 'slow-reply' (did you mean 'message_received'?)
rules/slow-reply.yaml:4: 'wiat' is not a valid option for rule 'slow-reply' (did you mean 'wait'?)
rules/slow-reply.yaml:6: 'conversation.stauts' is not a valid condition field for rule 'slow-reply' (did you mean 'conversation.status'?)
rules/slow-reply.yaml:7: 'opne' is not a valid value for 'conversation.status' in rule 'slow-reply' (did you mean 'open'?)
rules/slow-reply.yaml:8: 'conversation.minutes_since_last_inbound' in rule 'slow-reply' needs a number, not 'soon'
rules/slow-reply.yaml:10: 'keywrd' is not a valid operator for 'message.body' in rule 'slow-reply' (did you mean 'keyword'?)
rules/slow-reply.yaml:11: invalid pattern '(unclosed' for 'message.body' in rule 'slow-reply': missing ), unterminated subpattern at position 0
rules/slow-reply.yaml:13: 'sned_sms' is not a valid action for rule 'slow-reply' (did you mean 'send_sms'?)
rules/slow-reply.yaml:14: unknown merge field 'contact.frist_name' (did you mean 'contact.first_name'?) in 'send_sms.text' of rule 'slow-reply'
rules/slow-reply.yaml:15: template error: unexpected '}' (template line 1) in 'send_sms.text' of rule 'slow-reply'
rules/slow-reply.yaml:16: 'assignee.manger' is not a valid recipient for rule 'slow-reply' (did you mean 'assignee.manager'?)
rules/slow-reply.yaml:17: 'inbx' is not a valid option for action 'move' in rule 'slow-reply' (did you mean 'inbox'?)
rules/slow-reply.yaml:17: action 'move' in rule 'slow-reply' is missing required option 'inbox'
rules/slow-reply.yaml:20: '15 minutes' is not a valid duration for 'wait' in rule 'second' (use a whole number and a unit: 90s, 15m, 4h, 3d)
rules/slow-reply.yaml:21: invalid value for 'run_once' in rule 'second': input should be a valid boolean, unable to interpret input
rules/slow-reply.yaml:23: 'Bad Name' is not a valid rule name (use lowercase letters, digits, - and _)
rules/slow-reply.yaml:23: rule 'Bad Name' is missing required option 'trigger'
rules/slow-reply.yaml:25: unknown inbox 'Slaes' in 'move.inbox' of rule 'Bad Name' (did you mean 'Sales'?)
rules/slow-reply.yaml:26: unknown user 'sam@example.org' in 'assign.to' of rule 'Bad Name' (did you mean 'sam@example.com'?)
"""


def test_error_messages_snapshot() -> None:
    known = Known(inboxes={"Support", "Sales"}, users={"sam@example.com"})
    result = check_text(BROKEN, "rules/slow-reply.yaml", known)
    assert "".join(f"{problem}\n" for problem in result.problems) == EXPECTED
    # A file with problems yields no rules at all: it is skipped as a whole.
    assert result.rules == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "- name: x\n  trigger: closed\n  then: [close\n",
            "rules/x.yaml:4: invalid YAML: expected ',' or ']', but got '<stream end>'",
        ),
        ("just text", "rules/x.yaml:1: a rule file must hold a list of rules"),
        (
            "- name: a\n  trigger: closed\n  then: [close]\n- name: a\n  trigger: closed\n  then: [close]\n",
            "rules/x.yaml:4: duplicate rule name 'a' (also defined at rules/x.yaml:1)",
        ),
        (
            "- name: a\n  trigger: closed\n  if: [{not: {conversation.tags: vip}}]\n  then: []\n",
            "rules/x.yaml:4: invalid value for 'then' in rule 'a': list should have at least 1 item after validation, not 0",
        ),
        (
            "- name: a\n  trigger: closed\n  if:\n    - conversation.status: {gte: 3}\n  then: [close]\n",
            "rules/x.yaml:4: 'gte' is not a valid operator for 'conversation.status' in rule 'a' (use one of: eq, ne, in, not_in)",
        ),
        (
            "- name: a\n  trigger: closed\n  if:\n    - conversation.awaiting_reply: yes please\n  then: [close]\n",
            "rules/x.yaml:4: 'conversation.awaiting_reply' in rule 'a' needs true or false, not 'yes please'",
        ),
        (
            "- name: a\n  trigger: closed\n  then:\n    - send_sms: {text: hi, to: me}\n",
            "rules/x.yaml:4: 'to' is not a valid option for action 'send_sms' in rule 'a' (options: text)",
        ),
        (
            '- name: a\n  trigger: closed\n  then:\n    - send_sms: "{{ contact.name }}"\n    - assign: somebody\n',
            "rules/x.yaml:5: 'somebody' is not a valid assignee for rule 'a' (did you mean 'nobody'?)",
        ),
        (
            '- name: a\n  trigger: closed\n  then:\n    - add_tag: "a,b"\n',
            "rules/x.yaml:4: invalid value for 'add_tag.tag' in rule 'a': value error, a tag cannot contain commas or control characters",
        ),
    ],
)
def test_more_error_messages(text: str, expected: str) -> None:
    problems = [str(p) for p in check_text(text, "rules/x.yaml").problems]
    assert problems == [expected]


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ contact.fields.__init__ }}",
        "{{ contact|attr('__dict__') }}",
        "{{ conversation.tags.append('x') }}",
    ],
)
def test_templates_the_sandbox_will_refuse_are_reported(template: str) -> None:
    text = f'- name: a\n  trigger: closed\n  then:\n    - send_sms: "{template}"\n'
    problems = [str(p) for p in check_text(text, "rules/x.yaml").problems]
    assert problems and all(p.startswith("rules/x.yaml:4: the sandbox refuses") for p in problems)
    assert "of rule 'a'" in problems[0]


def test_shipped_rules_are_valid_against_demo_names() -> None:
    rules, problems = check_path(REPO / "rules", Known(inboxes={"Support", "Sales"}))
    assert problems == []
    assert {rule.name for rule in rules} == {
        "alert-manager-on-slow-reply",
        "close-after-3-quiet-days",
        "acknowledge-new-conversation",
        "acknowledge-new-conversation-after-hours",
        "route-pricing-to-sales",
    }


def test_a_business_wait_is_a_wait_and_business_true() -> None:
    text = "- name: a\n  trigger: message_received\n  wait: 2h\n  business: true\n  then: [close]\n"
    [rule] = check_text(text, "rules/x.yaml").rules
    assert (rule.wait_seconds, rule.wait_business) == (7200, True)
    [plain] = check_text(text.replace("  business: true\n", ""), "rules/x.yaml").rules
    assert (plain.wait_seconds, plain.wait_business) == (7200, False)
    # business: false is the default, so it leaves the rule's version alone.
    [same] = check_text(text.replace("true", "false"), "rules/x.yaml").rules
    assert same.version == plain.version != rule.version
    assert same.wait_business is False
    # `inbox rules test` says how the wait counts.
    from inbox.cli.rules import explain

    now = datetime(2026, 12, 4, 21, tzinfo=UTC)
    assert explain(rule, {}, now)[2] == (
        "  waits 2h (business hours) after the trigger, then checks its conditions:"
    )
    assert explain(plain, {}, now)[2] == "  waits 2h after the trigger, then checks its conditions:"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "- name: a\n  trigger: closed\n  business: true\n  then: [close]\n",
            "rules/x.yaml:3: 'business: true' in rule 'a' needs a 'wait' to count in business hours (e.g. wait: 2h)",
        ),
        (
            "- name: a\n  trigger: closed\n  wait: 2h\n  business: 2h\n  then: [close]\n",
            "rules/x.yaml:4: invalid value for 'business' in rule 'a': input should be a valid boolean, unable to interpret input",
        ),
        (
            "- name: a\n  trigger: closed\n  wait: 2 hours\n  business: true\n  then: [close]\n",
            "rules/x.yaml:3: '2 hours' is not a valid duration for 'wait' in rule 'a' (use a whole number and a unit: 90s, 15m, 4h, 3d)",
        ),
        (
            "- name: a\n  trigger: closed\n  wait: 2h\n  buisness: true\n  then: [close]\n",
            "rules/x.yaml:4: 'buisness' is not a valid option for rule 'a' (did you mean 'business'?)",
        ),
    ],
)
def test_bad_business_waits(text: str, expected: str) -> None:
    result = check_text(text, "rules/x.yaml")
    assert [str(p) for p in result.problems] == [expected]
    assert result.rules == []


def test_version_changes_with_meaning_not_formatting() -> None:
    one = check_text("- name: a\n  trigger: closed\n  then: [close]\n", "a.yaml").rules[0]
    same = check_text(
        "# note\n- {name: a, trigger: [closed], then: [{close: {}}]}\n", "a.yaml"
    ).rules[0]
    other = check_text("- name: a\n  trigger: closed\n  then: [reopen]\n", "a.yaml").rules[0]
    assert one.version == same.version != other.version


def test_durations() -> None:
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("4h") == timedelta(hours=4)
    assert parse_duration("3d") == timedelta(days=3)
    assert parse_duration("90s") == timedelta(seconds=90)
    assert format_duration(timedelta(days=3)) == "3d"
    assert format_duration(timedelta(seconds=90)) == "90s"
    for bad in ("15", "15 minutes", "m", "-3d", "1.5h", True):
        with pytest.raises(InvalidDuration):
            parse_duration(bad)


def test_json_schema_lists_every_field_and_action() -> None:
    schema = json.loads(json.dumps(json_schema()))
    text = json.dumps(schema)
    for name in ("conversation.minutes_since_last_inbound", "message.body", "send_sms", "webhook"):
        assert name in text
    assert schema["$defs"]["Rule"]["additionalProperties"] is False
    assert schema["$defs"]["Rule"]["properties"]["business"]["type"] == "boolean"


def test_cli_check_prints_problems_and_exits_non_zero(tmp_path: Path, capsys) -> None:
    import argparse

    from inbox.cli.rules import cmd_check

    (tmp_path / "good.yaml").write_text("- name: a\n  trigger: closed\n  then: [close]\n")
    (tmp_path / "bad.yaml").write_text(
        "- name: b\n  trigger: closed\n  wiat: 1m\n  then: [close]\n"
    )
    code = cmd_check(argparse.Namespace(path=str(tmp_path), no_db=True))
    out = capsys.readouterr().out
    assert code == 1
    assert (
        f"{tmp_path}/bad.yaml:3: 'wiat' is not a valid option for rule 'b' (did you mean 'wait'?)"
        in out
    )
    assert "1 rule(s) OK, 1 problem(s)" in out
    (tmp_path / "bad.yaml").unlink()
    assert cmd_check(argparse.Namespace(path=str(tmp_path), no_db=True)) == 0


def test_every_rule_in_the_docs_is_valid() -> None:
    text = (REPO / "docs" / "automation.md").read_text()
    blocks = [b.split("```")[0] for b in text.split("```yaml\n")[1:]]
    rules = [b for b in blocks if b.startswith("- name:")]
    assert len(rules) >= 8
    for block in rules:
        result = check_text(block, "docs")
        assert [str(p) for p in result.problems] == [], block
        assert result.rules
