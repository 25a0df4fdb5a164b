"""The condition fields rules can test, one registry entry per field, and their operators.

Pure code (no I/O, no clock): the conversation workflow evaluates conditions with it. A field
reads its value from *facts* (a flat dict keyed by field name, built from the workflow's state
and a database snapshot) and ``now``, which the caller passes in. Adding a field is one call to
:func:`_field` below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Facts = dict[str, Any]

# Operators allowed per value type; the first is what a bare scalar means.
OPERATORS: dict[str, tuple[str, ...]] = {
    "enum": ("eq", "ne", "in", "not_in"),
    "string": ("eq", "ne", "in", "not_in", "contains", "is_set"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "is_set"),
    "bool": ("eq", "ne"),
    "text": ("contains", "keyword", "pattern", "eq", "is_set"),
    "tags": ("includes", "excludes", "is_set"),
    "any": ("eq", "ne", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "is_set"),
}
# What a bare list means, per type.
LIST_SHORTHAND = {"enum": "in", "string": "in", "text": "contains", "tags": "includes", "any": "in"}

OPERATOR_WORDS = {
    "eq": "",
    "ne": "not ",
    "gt": "> ",
    "gte": ">= ",
    "lt": "< ",
    "lte": "<= ",
    "in": "one of ",
    "not_in": "none of ",
    "contains": "to contain ",
    "keyword": "the keyword ",
    "pattern": "to match ",
    "includes": "to include ",
    "excludes": "to exclude ",
    "is_set": "set: ",
}

GROUPS = ("all", "any", "not")


@dataclass(frozen=True)
class ConditionField:
    """One field a condition can test."""

    name: str
    type: str
    description: str
    example: Any
    get: Callable[[Facts, datetime], Any]
    choices: tuple[str, ...] = ()


FIELDS: dict[str, ConditionField] = {}
# Fields named by a prefix and a free suffix (custom fields): ``contact.fields.company``.
PREFIXES: dict[str, ConditionField] = {}


def _fact(name: str) -> Callable[[Facts, datetime], Any]:
    return lambda facts, _now: facts.get(name)


def _field(
    name: str,
    type_: str,
    description: str,
    example: Any,
    get: Callable[[Facts, datetime], Any] | None = None,
    choices: tuple[str, ...] = (),
) -> None:
    entry = ConditionField(name, type_, description, example, get or _fact(name), choices)
    if name.endswith("."):
        PREFIXES[name] = entry
    else:
        FIELDS[name] = entry


def parse_time(value: Any) -> datetime | None:
    """A fact's timestamp: facts carry ISO strings (JSON-safe) or datetimes."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _minutes_since(name: str) -> Callable[[Facts, datetime], Any]:
    def get(facts: Facts, now: datetime) -> int | None:
        at = parse_time(facts.get(name))
        return None if at is None else int((now - at).total_seconds() // 60)

    return get


def _minutes_until(name: str) -> Callable[[Facts, datetime], Any]:
    def get(facts: Facts, now: datetime) -> int | None:
        at = parse_time(facts.get(name))
        if at is None:
            return None
        seconds = (at - now).total_seconds()
        # Whole minutes towards zero: 90 s left is 1, 90 s overdue is -1.
        return int(seconds // 60) if seconds >= 0 else -int(-seconds // 60)

    return get


def _minutes_of(name: str) -> Callable[[Facts, datetime], Any]:
    def get(facts: Facts, _now: datetime) -> int | None:
        seconds = facts.get(name)
        return None if seconds is None else int(seconds) // 60

    return get


_field(
    "conversation.status",
    "enum",
    "The conversation's status.",
    "open",
    choices=("open", "closed", "spam"),
)
_field("conversation.inbox", "string", "Name of the conversation's inbox.", "Support")
_field("conversation.channel", "string", "Name of the channel (SMS number) it came in on.", "Main")
_field("conversation.assignee", "string", "E-mail of the assigned user.", "sam@example.com")
_field(
    "conversation.unassigned",
    "bool",
    "True when nobody is assigned.",
    True,
    lambda facts, _now: facts.get("conversation.assignee") is None,
)
_field(
    "conversation.awaiting_reply",
    "bool",
    "True when the contact's last message has no reply from a person yet (auto-replies don't "
    "count).",
    True,
    lambda facts, _now: facts.get("conversation.last_direction") == "inbound",
)
_field(
    "conversation.minutes_since_last_inbound",
    "number",
    "Whole minutes since the contact's last message.",
    {"gte": 4320},
    _minutes_since("conversation.last_inbound_at"),
)
_field(
    "conversation.minutes_since_last_outbound",
    "number",
    "Whole minutes since our last message (human or automated).",
    {"gte": 60},
    _minutes_since("conversation.last_outbound_at"),
)
_field(
    "conversation.time_to_first_response",
    "number",
    "Minutes from the first inbound message to the first human reply (unset until then).",
    {"gt": 30},
    _minutes_of("conversation.time_to_first_response_seconds"),
)
_field(
    "conversation.time_to_close",
    "number",
    "Minutes from opening to closing (unset while open).",
    {"lt": 60},
    _minutes_of("conversation.time_to_close_seconds"),
)
for _target, _label in (
    ("first_response", "first response"),
    ("next_response", "next response"),
    ("resolution", "resolution"),
):
    _field(
        f"conversation.sla.{_target}_due_in",
        "number",
        f"Minutes until the {_label} SLA deadline (negative once overdue; unset when none runs).",
        {"lt": 10},
        _minutes_until(f"conversation.sla.{_target}_due_at"),
    )
_field(
    "conversation.messages_received",
    "number",
    "Inbound messages so far (1 on a new conversation's first message).",
    1,
)
_field("conversation.messages_sent", "number", "Outbound messages so far.", 0)
_field("conversation.tags", "tags", "The conversation's tags.", {"includes": "vip"})
_field("conversation.fields.", "any", "A custom field of the conversation.", "enterprise")
_field("contact.name", "string", "The contact's full name.", {"is_set": True})
_field("contact.first_name", "string", "First word of the contact's name.", "Ada")
_field("contact.phone", "string", "The number this conversation uses (E.164).", "+14155550100")
_field("contact.email", "string", "The contact's e-mail.", {"contains": "@acme.com"})
_field(
    "contact.opted_out",
    "bool",
    "True when this conversation's number opted out (STOP, the carrier, or recorded by a person).",
    False,
)
_field("contact.fields.", "any", "A custom field of the contact.", {"in": ["gold", "silver"]})
_field(
    "message.body",
    "text",
    "Text of the message that triggered the rule.",
    {"keyword": ["pricing", "quote"]},
)
_field(
    "message.automated", "bool", "True when the triggering message was sent by automation.", False
)
_field(
    "message.looks_like_opt_out",
    "bool",
    'True when the triggering message may ask to stop texts in other words than STOP ("please '
    'stop texting me"): the conversation is flagged for a person to decide.',
    True,
)
_field(
    "inbox.within_business_hours",
    "bool",
    "True inside the inbox's business hours (in the inbox's time zone).",
    True,
)


def lookup(name: str) -> ConditionField | None:
    """The field for a condition key, including prefixed custom fields."""
    if name in FIELDS:
        return FIELDS[name]
    for prefix, entry in PREFIXES.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            return entry
    return None


def value_of(name: str, facts: Facts, now: datetime) -> Any:
    """The current value of field ``name``."""
    entry = lookup(name)
    if entry is None:
        raise KeyError(name)
    if entry.name.endswith("."):
        return facts.get(name)
    return entry.get(facts, now)


def normalize(entry: ConditionField, spec: Any) -> dict[str, Any]:
    """A condition's value as ``{operator: operand}`` (expanding scalar and list shorthand)."""
    if isinstance(spec, dict):
        return spec
    if isinstance(spec, list):
        return {LIST_SHORTHAND.get(entry.type, "in"): spec}
    return {OPERATORS[entry.type][0]: spec}


# --- operators -------------------------------------------------------------------------------


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if actual is None or isinstance(actual, bool):
        return False
    if not isinstance(actual, int | float):
        try:
            actual = float(str(actual))
        except ValueError:
            return False
    if op == "gt":
        return bool(actual > expected)
    if op == "gte":
        return bool(actual >= expected)
    if op == "lt":
        return bool(actual < expected)
    return bool(actual <= expected)


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected or actual == expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return actual == expected
    return bool(_fold(str(actual) if actual is not None else None) == _fold(str(expected)))


def _is_set(value: Any) -> bool:
    return value is not None and value != "" and value != []


def apply_operator(op: str, actual: Any, expected: Any) -> bool:
    """Whether ``actual`` satisfies ``op expected``."""
    if op == "eq":
        return _equal(actual, expected)
    if op == "ne":
        return not _equal(actual, expected)
    if op == "in":
        return any(_equal(actual, item) for item in _as_list(expected))
    if op == "not_in":
        return not any(_equal(actual, item) for item in _as_list(expected))
    if op in ("gt", "gte", "lt", "lte"):
        return _compare(op, actual, expected)
    if op == "is_set":
        return _is_set(actual) is bool(expected)
    text = "" if actual is None else str(actual)
    if op == "contains":
        return any(str(item).casefold() in text.casefold() for item in _as_list(expected))
    if op == "keyword":
        return any(
            re.search(rf"(?<!\w){re.escape(str(word))}(?!\w)", text, re.IGNORECASE)
            for word in _as_list(expected)
        )
    if op == "pattern":
        return any(re.search(str(p), text, re.IGNORECASE) for p in _as_list(expected))
    tags = {_fold(tag) for tag in (actual or [])}
    if op == "includes":
        return all(_fold(tag) in tags for tag in _as_list(expected))
    if op == "excludes":
        return not any(_fold(tag) in tags for tag in _as_list(expected))
    raise ValueError(f"unknown operator {op!r}")


def describe_value(value: Any) -> str:
    """A value as rule authors wrote it (``true``, ``'open'``, ``unset``)."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return repr(value)
