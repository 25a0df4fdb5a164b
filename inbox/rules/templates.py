"""Jinja templates in rules (SMS text, notes, notifications), rendered in a sandbox.

Templates see merge fields only: ``{{ contact.first_name }}``, ``{{ inbox.next_open }}`` …
They cannot reach Python internals nor build oversized values (:mod:`inbox.sandbox`), and a
missing custom field renders as an empty string rather than failing a send.
"""

from __future__ import annotations

import difflib
import functools
from typing import Any

from jinja2 import Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError

from inbox import sandbox
from inbox.sandbox import LimitedSandbox

# Every merge field, with what it holds (listed in docs/automation.md).
MERGE_FIELDS: dict[str, str] = {
    "contact.name": "the contact's full name",
    "contact.first_name": "first word of the contact's name",
    "contact.phone": "the conversation's contact number (E.164)",
    "contact.email": "the contact's e-mail",
    "contact.fields": "custom contact fields: contact.fields.company",
    "conversation.id": "the conversation's id",
    "conversation.status": "open, closed or spam",
    "conversation.inbox": "the inbox name",
    "conversation.channel": "the channel name",
    "conversation.tags": "list of tags",
    "conversation.fields": "custom conversation fields: conversation.fields.plan",
    "conversation.url": "link to the conversation in the web inbox",
    "inbox.name": "the inbox name",
    "inbox.next_open": "when the inbox opens next: 'now', 'tomorrow at 9:00', 'Monday at 9:00'",
    "inbox.within_business_hours": "true inside business hours",
    "assignee.name": "the assigned user's name (empty when unassigned)",
    "assignee.first_name": "first word of the assignee's name",
    "assignee.email": "the assignee's e-mail",
    "message.body": "text of the triggering message",
    "rule.name": "the rule's name",
}
# Fields whose children are free (custom fields).
OPEN_FIELDS = {"contact.fields", "conversation.fields"}
ROOTS = {name.split(".")[0] for name in MERGE_FIELDS}

_env = LimitedSandbox(autoescape=False, keep_trailing_newline=False)


class TemplateProblem(ValueError):
    """A template that does not compile or uses an unknown merge field."""


def _paths(node: nodes.Node) -> list[str]:
    """Dotted merge-field paths (``contact.name``) used by a parsed template."""
    found: list[str] = []
    for item in node.find_all((nodes.Getattr, nodes.Getitem)):
        parts: list[str] = []
        current: nodes.Node = item
        while True:
            if isinstance(current, nodes.Getattr):
                parts.append(current.attr)
                current = current.node
            elif isinstance(current, nodes.Getitem) and isinstance(current.arg, nodes.Const):
                parts.append(str(current.arg.value))
                current = current.node
            else:
                break
        if isinstance(current, nodes.Name):
            found.append(".".join([current.name, *reversed(parts)]))
    return found


@functools.lru_cache(maxsize=512)
def fields_used(source: str) -> frozenset[str] | None:
    """The merge fields a template reads, to two levels (``contact.first_name``,
    ``contact.fields``), so its facts can be read alone; None when that cannot be told (a root
    used whole, such as ``{% set c = contact %}``, or a template that does not parse)."""
    try:
        parsed = _env.parse(source)
    except TemplateSyntaxError:
        return None
    chains: set[int] = set()
    for item in parsed.find_all((nodes.Getattr, nodes.Getitem)):
        current: nodes.Node = item
        while isinstance(current, (nodes.Getattr, nodes.Getitem)):
            current = current.node
        chains.add(id(current))
    if any(name.name in ROOTS and id(name) not in chains for name in parsed.find_all(nodes.Name)):
        return None
    return frozenset(".".join(path.split(".")[:2]) for path in _paths(parsed))


def check(source: str) -> list[str]:
    """Problems with a template: syntax errors, unknown merge fields, and what the sandbox
    will refuse when it runs (empty when fine)."""
    try:
        parsed = _env.parse(source)
    except TemplateSyntaxError as exc:
        return [f"template error: {exc.message} (template line {exc.lineno})"]
    problems = sandbox.refusals(parsed)
    undeclared = meta.find_undeclared_variables(parsed)
    for name in sorted(undeclared - ROOTS):
        problems.append(_unknown(name))
    seen = set()
    for path in _paths(parsed):
        root = path.split(".")[0]
        if root not in undeclared or path in seen:
            continue
        seen.add(path)
        two = ".".join(path.split(".")[:2])
        if two in MERGE_FIELDS or path in MERGE_FIELDS:
            continue
        problems.append(_unknown(two))
    return problems


def _unknown(name: str) -> str:
    near = difflib.get_close_matches(name, [*MERGE_FIELDS, *ROOTS], n=1)
    hint = f" (did you mean '{near[0]}'?)" if near else ""
    return f"unknown merge field '{name}'{hint}"


def context_from_facts(
    facts: dict[str, Any], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Nest flat facts (``contact.name``) into the mapping templates see."""
    context: dict[str, Any] = {root: {} for root in ROOTS}
    for key, value in {**facts, **(extra or {})}.items():
        parts = key.split(".")
        if parts[0] not in ROOTS:
            continue
        target = context
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                break
        else:
            target[parts[-1]] = "" if value is None else value
    for open_field in OPEN_FIELDS:
        root, child = open_field.split(".")
        context[root].setdefault(child, {})
    return context


# ``from_string`` compiles on every call (about 1 ms); rules are few and change rarely, so keep
# the compiled templates (an edited rule brings a new source string, hence a new entry).
@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    return _env.from_string(source)


def render(source: str, context: dict[str, Any]) -> str:
    """Render ``source`` in the sandbox. Raises TemplateProblem on errors, sandbox escapes and
    passed limits (output size, loop steps)."""
    try:
        return _env.render_limited(_compiled(source), context).strip()
    except (TemplateSyntaxError, SecurityError) as exc:
        raise TemplateProblem(str(exc)) from exc
    except Exception as exc:  # a template bug must read as one, not as a crash
        raise TemplateProblem(f"template failed: {exc}") from exc
