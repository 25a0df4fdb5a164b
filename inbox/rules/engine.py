"""Pure, deterministic evaluation of rules: no I/O, no clock (``now`` is always passed in).

The conversation workflow calls these functions; so do ``inbox rules test`` and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox.consent.phrases import looks_like_opt_out
from inbox.contracts import MESSAGE_TRIGGERS, RuleSpec
from inbox.rules import conditions
from inbox.rules.conditions import Facts


@dataclass(frozen=True)
class Verdict:
    """Whether the conditions hold; when not, ``reason`` names the first one that failed."""

    ok: bool
    reason: str = ""


def evaluate(conditions_list: list[Any], facts: Facts, now: datetime) -> Verdict:
    """Evaluate a rule's ``if`` list (all must hold) against ``facts`` at ``now``."""
    return _all(conditions_list, facts, now)


def _all(items: list[Any], facts: Facts, now: datetime) -> Verdict:
    for item in items:
        verdict = _one(item, facts, now)
        if not verdict.ok:
            return verdict
    return Verdict(True)


def _one(node: Any, facts: Facts, now: datetime) -> Verdict:
    if not isinstance(node, dict) or len(node) != 1:
        return Verdict(False, f"malformed condition {node!r}")
    ((key, spec),) = node.items()
    if key == "all":
        return _all(_items(spec), facts, now)
    if key == "any":
        reasons = []
        for item in _items(spec):
            verdict = _one(item, facts, now)
            if verdict.ok:
                return verdict
            reasons.append(verdict.reason)
        return Verdict(False, "none of: " + "; ".join(reasons))
    if key == "not":
        verdict = _all(_items(spec), facts, now)
        if verdict.ok:
            return Verdict(False, f"not: all of {_items(spec)!r} hold")
        return Verdict(True)
    return _field(key, spec, facts, now)


def _items(spec: Any) -> list[Any]:
    return spec if isinstance(spec, list) else [spec]


def _field(name: str, spec: Any, facts: Facts, now: datetime) -> Verdict:
    entry = conditions.lookup(name)
    if entry is None:
        return Verdict(False, f"unknown field {name!r}")
    actual = conditions.value_of(name, facts, now)
    for op, expected in conditions.normalize(entry, spec).items():
        if not conditions.apply_operator(op, actual, expected):
            wanted = conditions.OPERATOR_WORDS.get(op, op + " ")
            return Verdict(
                False,
                f"{name} is {conditions.describe_value(actual)} "
                f"(needs {wanted}{conditions.describe_value(expected)})",
            )
    return Verdict(True)


class _NeedsStore(Exception):
    """A condition read a fact only the stored snapshot has."""


class _KnownFacts(dict[str, Any]):
    """Facts that refuse to answer for a key they do not hold (instead of saying None)."""

    def get(self, key: str, default: Any = None) -> Any:
        if key not in self:
            raise _NeedsStore(key)
        return super().__getitem__(key)

    def __getitem__(self, key: str) -> Any:
        return self.get(key)


def evaluate_known(conditions_list: list[Any], known: Facts, now: datetime) -> Verdict | None:
    """The verdict of ``conditions_list`` on ``known`` facts alone, or None if a condition
    needs a fact outside them.

    ``known`` are what the workflow holds itself (``ConversationState.facts`` and
    :func:`message_facts`), which override the stored snapshot: when the conditions read
    nothing else, the full facts would give the same verdict, so the database need not be read
    ("wait 3 days, then if awaiting a reply" costs no query).
    """
    try:
        return evaluate(conditions_list, _KnownFacts(known), now)
    except _NeedsStore:
        return None


def needs_stored_facts(rule: RuleSpec, known: Facts, now: datetime) -> bool:
    """Whether evaluating ``rule`` now needs the stored snapshot (see :func:`evaluate_known`)."""
    return evaluate_known(rule.conditions, known, now) is None


def matches_trigger(rule: RuleSpec, trigger: str, caused_by_automation: bool) -> bool:
    """Whether ``rule`` reacts to ``trigger``. Message events caused by automation count only
    for rules that opt in with ``include_automated`` (so an auto-reply cannot feed a loop)."""
    if not rule.enabled or trigger not in rule.triggers:
        return False
    return not (caused_by_automation and trigger in MESSAGE_TRIGGERS and not rule.include_automated)


def message_facts(body: str, automated: bool) -> Facts:
    """Facts about the message that triggered the rule."""
    return {
        "message.body": body,
        "message.automated": automated,
        # Pure text patterns: the workflow may evaluate them itself.
        "message.looks_like_opt_out": not automated and looks_like_opt_out(body),
    }
