"""Merge fields in an agent's reply (``Hi {{ contact.first_name }}``), rendered in a sandbox."""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError

from inbox.models import Contact, Conversation, User
from inbox.sandbox import LimitedSandbox

# The same limits as rule templates (output size, loop steps): a reply is at most 1,600
# characters anyway, and a template must not make the web process build more on the way.
_env = LimitedSandbox(autoescape=False, keep_trailing_newline=True)

# What the composer's picker offers: (label, field).
MERGE_FIELDS: list[tuple[str, str]] = [
    ("Contact first name", "contact.first_name"),
    ("Contact full name", "contact.name"),
    ("Contact email", "contact.email"),
    ("Your first name", "agent.first_name"),
    ("Your name", "agent.name"),
    ("Inbox name", "inbox.name"),
]


class MergeError(ValueError):
    """The reply's merge fields could not be rendered (the message says where)."""


def merge_values(conversation: Conversation, contact: Contact, agent: User) -> dict[str, Any]:
    """The values merge fields can refer to. Plain data only: the sandbox sees no models."""
    agent_first = agent.name.split()[0] if agent.name.strip() else ""
    return {
        "contact": {
            "name": contact.name,
            "first_name": contact.first_name,
            "email": contact.email or "",
            "fields": dict(contact.fields or {}),
            **{k: v for k, v in (contact.fields or {}).items() if isinstance(k, str)},
        },
        "agent": {"name": agent.name, "first_name": agent_first, "email": agent.email},
        "inbox": {"name": conversation.inbox.name if conversation.inbox else ""},
    }


def render_merge_fields(body: str, values: dict[str, Any]) -> str:
    """``body`` with its merge fields filled in; text without ``{{`` is returned unchanged."""
    if "{{" not in body and "{%" not in body:
        return body
    try:
        return _env.render_limited(_env.from_string(body), values)
    except (TemplateError, RecursionError, ValueError, TypeError, ArithmeticError) as exc:
        raise MergeError(f"Merge field problem: {exc}") from exc
