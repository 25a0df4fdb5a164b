"""``inbox rules check [PATH]``, ``inbox rules schema`` and ``inbox rules test RULE
--conversation ID``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from inbox.contracts import RuleSpec
from inbox.rules import actions, engine, schema, templates
from inbox.rules.durations import format_duration
from inbox.rules.validate import Known, check_path
from inbox.settings import get_settings


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def register(subparsers: Any) -> None:
    """Add ``inbox rules check|schema|test`` to the CLI."""
    rules = subparsers.add_parser("rules", help="check, describe and try automation rules")
    commands = rules.add_subparsers(dest="rules_command", required=True)

    check = commands.add_parser("check", help="validate rule files; exit 1 on any problem")
    check.add_argument("path", nargs="?", help="a rule file or folder (default: INBOX_RULES_DIR)")
    check.add_argument(
        "--no-db", action="store_true", help="don't check inbox and user names against the database"
    )
    check.set_defaults(handler=cmd_check)

    commands.add_parser("schema", help="print the JSON Schema of rule files").set_defaults(
        handler=cmd_schema
    )

    test = commands.add_parser("test", help="show what a rule would do to a conversation now")
    test.add_argument("rule", help="the rule's name")
    test.add_argument("--conversation", type=int, required=True, help="the conversation id")
    test.add_argument("--path", help="rule file or folder (default: INBOX_RULES_DIR)")
    test.set_defaults(handler=cmd_test)


def _known() -> Known | None:
    """Names from the database, or None when it cannot be read (then names aren't checked)."""
    from inbox.db import engine_for, make_session_factory

    try:
        sessions = make_session_factory(engine_for(get_settings().database_url))
        with sessions() as session:
            return Known.from_session(session)
    except Exception:  # no database yet is fine for a syntax check
        return None


def cmd_check(args: argparse.Namespace) -> int:
    """Print every problem as ``file:line: message``; exit 1 if there is any."""
    target = Path(args.path) if args.path else get_settings().rules_dir
    if not target.exists():
        _out(f"{target}: no such file or folder")
        return 2
    known = None if args.no_db else _known()
    rules, problems = check_path(target, known)
    for problem in problems:
        _out(str(problem))
    note = "" if known is not None else " (inbox and user names not checked: no database)"
    _out(f"{len(rules)} rule(s) OK, {len(problems)} problem(s){note}")
    return 1 if problems else 0


def cmd_schema(_args: argparse.Namespace) -> int:
    """Print the JSON Schema for editor completion."""
    _out(json.dumps(schema.json_schema(), indent=2))
    return 0


def describe_action(action: dict[str, Any], facts: dict[str, Any], rule: str) -> str:
    """One action as a line, its templates rendered against ``facts``."""
    kind = actions.ACTIONS[action["kind"]]
    params = dict(action.get("params") or {})
    context = templates.context_from_facts(facts, {"rule.name": rule})
    for name in kind.template_params:
        value = params.get(name)
        try:
            if isinstance(value, str):
                params[name] = templates.render(value, context)
            elif isinstance(value, dict):
                params[name] = {
                    k: templates.render(v, context) if isinstance(v, str) else v
                    for k, v in value.items()
                }
        except templates.TemplateProblem as exc:
            params[name] = f"<template error: {exc}>"
    shown = ", ".join(f"{key}={value!r}" for key, value in params.items())
    return f"{action['kind']}({shown})"


def explain(rule: RuleSpec, facts: dict[str, Any], now: datetime) -> list[str]:
    """What ``rule`` would do given ``facts`` at ``now``, as lines of text."""
    lines = [f"rule '{rule.name}' (version {rule.version}, {rule.source})"]
    lines.append(f"  triggers: {', '.join(rule.triggers)}")
    if not rule.enabled:
        lines.append("  disabled: it would not run")
    if rule.wait_seconds:
        wait = format_duration(timedelta(seconds=rule.wait_seconds))
        counted = " (business hours)" if rule.wait_business else ""
        lines.append(f"  waits {wait}{counted} after the trigger, then checks its conditions:")
    if rule.run_once:
        lines.append("  run_once: fires at most once per conversation")
    verdict = engine.evaluate(rule.conditions, facts, now)
    if verdict.ok:
        lines.append("  conditions hold now; it would:")
        for index, action in enumerate(rule.actions, 1):
            lines.append(f"    {index}. {describe_action(action, facts, rule.name)}")
        if rule.stop:
            lines.append("  and stop: later rules would not run")
    else:
        lines.append(f"  it would be skipped: {verdict.reason}")
    return lines


def cmd_test(args: argparse.Namespace) -> int:
    """Show what a rule would do to a conversation now, without doing it."""
    from inbox.db import engine_for, make_session_factory
    from inbox.models import Conversation, Message, utcnow
    from inbox.rules.snapshot import build_facts

    settings = get_settings()
    rules, problems = check_path(Path(args.path) if args.path else settings.rules_dir)
    for problem in problems:
        _out(str(problem))
    rule = next((item for item in rules if item.name == args.rule), None)
    if rule is None:
        _out(f"no valid rule named '{args.rule}'")
        return 1
    sessions = make_session_factory(engine_for(settings.database_url))
    now = utcnow()
    with sessions() as session:
        conversation = session.get(Conversation, args.conversation)
        if conversation is None:
            _out(f"no conversation {args.conversation}")
            return 1
        facts = build_facts(session, conversation, now, settings.public_url)
        last = session.scalar(
            select(Message)
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.id.desc())
            .limit(1)
        )
        facts.update(engine.message_facts(last.body if last else "", bool(last and last.automated)))
    _out(f"conversation {args.conversation} as of {now.isoformat(timespec='seconds')}:")
    for line in explain(rule, facts, now):
        _out(line)
    return 0
