"""The rule language as pydantic models, and its JSON Schema for editor completion.

The top level of a rule is checked by :class:`Rule`; conditions and actions are checked against
their registries (``conditions.py``, ``actions.py``) by ``validate.py``, which also turns every
problem into a ``file:line: message`` line.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from inbox.rules import actions, conditions

TRIGGERS: dict[str, str] = {
    "message_received": "the contact sent a message",
    "message_sent": "a message was sent to the contact (by a person, or by automation for "
    "rules with include_automated)",
    "opened": "a conversation started",
    "closed": "the conversation was closed",
    "reopened": "a closed conversation was reopened",
    "assigned": "the assignee changed",
    "moved": "the conversation moved to another inbox",
    "sla_at_risk": "an SLA deadline of the inbox reached 80 % of its target",
    "sla_breached": "an SLA deadline of the inbox passed",
}
Trigger = Literal[
    "message_received",
    "message_sent",
    "opened",
    "closed",
    "reopened",
    "assigned",
    "moved",
    "sla_at_risk",
    "sla_breached",
]


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Rule(BaseModel):
    """One automation rule."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        max_length=200,
        description="Unique name: lowercase letters, digits, - and _.",
    )
    description: str = ""
    enabled: bool = True
    trigger: Annotated[list[Trigger], BeforeValidator(_listify), Field(min_length=1)]
    wait: str | int | None = Field(
        default=None, description="Delay before the conditions are checked: 90s, 15m, 4h, 3d."
    )
    business: bool = Field(
        default=False,
        description="Count the wait in the inbox's open hours only (business hours, holidays "
        "aside, in its time zone).",
    )
    run_once: bool = Field(default=False, description="Fire at most once per conversation.")
    stop: bool = Field(default=False, description="When this rule fires, later rules don't run.")
    include_automated: bool = Field(
        default=False,
        description="Also react to messages caused by automation (off: no loops).",
    )
    if_: list[Any] = Field(default_factory=list, alias="if", description="Conditions (all).")
    then: list[Any] = Field(min_length=1, description="Actions, in order.")


RULE_OPTIONS = [
    "name",
    "description",
    "enabled",
    "trigger",
    "wait",
    "business",
    "run_once",
    "stop",
    "include_automated",
    "if",
    "then",
]


def _operand_schema(type_: str, op: str) -> dict[str, Any]:
    if op == "is_set" or type_ == "bool":
        return {"type": "boolean"}
    if op in ("gt", "gte", "lt", "lte") or type_ == "number":
        return {"type": "number"}
    scalar: dict[str, Any] = {"type": ["string", "number", "boolean"]}
    return {"anyOf": [scalar, {"type": "array", "items": scalar}]}


def _condition_schema() -> dict[str, Any]:
    branches: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {group: {"type": "array", "items": {"$ref": "#/$defs/Condition"}}},
            "required": [group],
            "additionalProperties": False,
        }
        for group in conditions.GROUPS
    ]
    for name, entry in {**conditions.FIELDS, **conditions.PREFIXES}.items():
        ops = conditions.OPERATORS[entry.type]
        value: dict[str, Any] = {
            "anyOf": [
                _operand_schema(entry.type, ops[0]),
                {
                    "type": "object",
                    "properties": {op: _operand_schema(entry.type, op) for op in ops},
                    "additionalProperties": False,
                },
            ],
            "description": entry.description,
        }
        if entry.choices:
            value["anyOf"][0] = {"enum": list(entry.choices)}
        branch: dict[str, Any] = {"type": "object", "minProperties": 1, "maxProperties": 1}
        if name.endswith("."):
            branch["patternProperties"] = {
                "^" + name.replace(".", r"\.") + r"[A-Za-z0-9_]+$": value
            }
            branch["additionalProperties"] = False
        else:
            branch["properties"] = {name: value}
            branch["required"] = [name]
            branch["additionalProperties"] = False
        branches.append(branch)
    return {"anyOf": branches}


def _action_schema() -> dict[str, Any]:
    branches = []
    for name, kind in actions.ACTIONS.items():
        params = kind.params.model_json_schema()
        params.pop("title", None)
        value: dict[str, Any] = params
        if kind.shorthand is not None:
            value = {"anyOf": [{"type": "string"}, params]}
        elif not params.get("properties"):
            value = {"anyOf": [{"type": "null"}, params]}
        branches.append(
            {
                "type": "object",
                "properties": {name: {**value, "description": kind.description}},
                "required": [name],
                "additionalProperties": False,
            }
        )
    return {"anyOf": branches}


def json_schema() -> dict[str, Any]:
    """JSON Schema of a rule file (a list of rules, or one rule), for editor completion."""
    rule = Rule.model_json_schema(by_alias=True)
    defs = rule.pop("$defs", {})
    rule["properties"]["trigger"] = {
        "anyOf": [
            {"enum": list(TRIGGERS)},
            {"type": "array", "items": {"enum": list(TRIGGERS)}, "minItems": 1},
        ],
        "description": "When the rule is considered.",
    }
    rule["properties"]["wait"] = {
        "type": "string",
        "pattern": r"^\d+[smhd]$",
        "description": "Delay before the conditions are checked: 90s, 15m, 4h, 3d.",
    }
    rule["properties"]["if"]["items"] = {"$ref": "#/$defs/Condition"}
    rule["properties"]["then"]["items"] = {"$ref": "#/$defs/Action"}
    defs.update({"Rule": rule, "Condition": _condition_schema(), "Action": _action_schema()})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Inbox automation rules",
        "anyOf": [{"type": "array", "items": {"$ref": "#/$defs/Rule"}}, {"$ref": "#/$defs/Rule"}],
        "$defs": defs,
    }
