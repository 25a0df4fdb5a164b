"""Checking rule files, Home-Assistant style: every problem is one ``file:line: message`` line
that names the rule and the field and suggests the near-miss.

``rules/slow-reply.yaml:12: 'wiat' is not a valid option for rule 'slow-reply' (did you mean
'wait'?)``
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.contracts import RuleSpec
from inbox.rules import actions, conditions, loader, templates
from inbox.rules.durations import DURATION_HINT, InvalidDuration, parse_duration
from inbox.rules.schema import RULE_OPTIONS, TRIGGERS, Rule
from inbox.rules.suggest import did_you_mean

Path_ = tuple[Any, ...]


@dataclass(frozen=True, order=True)
class Problem:
    """One problem, printable as ``file:line: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Known:
    """Names that exist in the database, to catch a rule moving to an inbox that doesn't."""

    inboxes: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)

    @classmethod
    def from_session(cls, session: Session) -> Known:
        """Inbox names and user e-mails from the database."""
        from inbox.models import Inbox, User

        return cls(
            inboxes=set(session.scalars(select(Inbox.name))),
            users=set(session.scalars(select(User.email))),
        )


@dataclass
class FileResult:
    """The rules of one file (only when it has no problems) and its problems."""

    display: str
    rules: list[RuleSpec] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def rule_version(spec: dict[str, Any]) -> str:
    """A short content hash of a rule's meaning (formatting and comments do not change it)."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


class _RuleChecker:
    """Collects (path, message) problems for one rule mapping."""

    def __init__(self, data: Any, label: str, known: Known | None) -> None:
        self.data = data
        self.label = label
        self.known = known
        self.errors: list[tuple[Path_, str]] = []

    def error(self, path: Path_, message: str) -> None:
        self.errors.append((path, message))

    # -- top level ---------------------------------------------------------------------------

    def check(self) -> Rule | None:
        model: Rule | None = None
        try:
            model = Rule.model_validate(loader.plain(self.data))
        except ValidationError as exc:
            for item in exc.errors():
                self._pydantic(item)
        if isinstance(self.data, dict):
            if self.data.get("wait") is not None:
                self._wait(self.data["wait"])
            elif self.data.get("business") is True:
                self.error(
                    ("business",),
                    f"'business: true' in {self.label} needs a 'wait' to count in business "
                    "hours (e.g. wait: 2h)",
                )
            if "if" in self.data:
                self._conditions(self.data["if"], ("if",))
            if isinstance(self.data.get("then"), list):
                for index, item in enumerate(self.data["then"]):
                    self._action(item, ("then", index))
        return model if not self.errors else None

    def _pydantic(self, item: Any) -> None:
        loc, kind = tuple(item["loc"]), item["type"]
        if loc and loc[0] in ("if", "then") and kind != "missing" and len(loc) > 1:
            return  # conditions and actions get their own, more specific messages
        if loc and loc[0] == "wait":
            return
        if kind == "extra_forbidden":
            self.error(
                loc,
                f"'{loc[-1]}' is not a valid option for {self.label}"
                f"{did_you_mean(loc[-1], RULE_OPTIONS)}",
            )
        elif kind == "missing":
            self.error(loc[:-1], f"{self.label} is missing required option '{loc[-1]}'")
        elif kind == "literal_error" and loc[0] == "trigger":
            self.error(
                loc,
                f"'{item['input']}' is not a valid trigger for {self.label}"
                f"{did_you_mean(item['input'], TRIGGERS)}",
            )
        elif kind == "string_pattern_mismatch" and loc == ("name",):
            self.error(
                loc,
                f"'{item['input']}' is not a valid rule name "
                "(use lowercase letters, digits, - and _)",
            )
        elif kind == "model_type":
            self.error((), "each rule must be a mapping with name, trigger, if and then")
        else:
            where = ".".join(str(part) for part in loc)
            self.error(loc, f"invalid value for '{where}' in {self.label}: {_lower(item['msg'])}")

    def _wait(self, value: Any) -> None:
        try:
            parse_duration(value)
        except InvalidDuration:
            self.error(
                ("wait",),
                f"'{value}' is not a valid duration for 'wait' in {self.label} ({DURATION_HINT})",
            )

    # -- conditions --------------------------------------------------------------------------

    def _conditions(self, items: Any, path: Path_) -> None:
        if items is None:
            return
        if not isinstance(items, list):
            self.error(path, f"'{path[-1]}' in {self.label} must be a list of conditions")
            return
        for index, item in enumerate(items):
            self._condition(item, (*path, index))

    def _condition(self, node: Any, path: Path_) -> None:
        if not isinstance(node, dict) or len(node) != 1:
            self.error(
                path,
                f"each condition in {self.label} must be one 'field: value' pair "
                "(combine several with all:, any: or not:)",
            )
            return
        ((key, spec),) = node.items()
        key = str(key)
        if key in conditions.GROUPS:
            items = [spec] if key == "not" and isinstance(spec, dict) else spec
            self._conditions(items, (*path, key))
            return
        entry = conditions.lookup(key)
        if entry is None:
            names = [*conditions.FIELDS, *conditions.GROUPS]
            self.error(
                (*path, key),
                f"'{key}' is not a valid condition field for {self.label}"
                f"{did_you_mean(key, names)}",
            )
            return
        allowed = conditions.OPERATORS[entry.type]
        for op, operand in conditions.normalize(entry, loader.plain(spec)).items():
            if op not in allowed:
                hint = did_you_mean(op, allowed) or f" (use one of: {', '.join(allowed)})"
                self.error(
                    (*path, key, op),
                    f"'{op}' is not a valid operator for '{key}' in {self.label}{hint}",
                )
                continue
            self._operand(entry, key, op, operand, (*path, key))

    def _operand(
        self, entry: conditions.ConditionField, key: str, op: str, operand: Any, path: Path_
    ) -> None:
        where = f"'{key}' in {self.label}"
        if op == "is_set" or (entry.type == "bool" and op in ("eq", "ne")):
            if not isinstance(operand, bool):
                self.error(path, f"{where} needs true or false, not {_show(operand)}")
            return
        if op in ("gt", "gte", "lt", "lte") or entry.type == "number":
            if isinstance(operand, bool) or not isinstance(operand, int | float):
                self.error(path, f"{where} needs a number, not {_show(operand)}")
            return
        values = operand if isinstance(operand, list) else [operand]
        if entry.choices:
            for value in values:
                if value not in entry.choices:
                    self.error(
                        path,
                        f"'{value}' is not a valid value for {where}"
                        f"{did_you_mean(value, entry.choices)}",
                    )
        if op == "pattern":
            for value in values:
                try:
                    re.compile(str(value))
                except re.error as exc:
                    self.error(path, f"invalid pattern '{value}' for {where}: {exc}")
        if any(isinstance(value, dict | list) for value in values):
            self.error(path, f"{where} needs a value or a list of values")

    # -- actions -----------------------------------------------------------------------------

    def _action(self, item: Any, path: Path_) -> None:
        if isinstance(item, str):
            name, value = item, None
        elif isinstance(item, dict) and len(item) == 1:
            ((name, value),) = item.items()
            name = str(name)
        else:
            self.error(
                path,
                f"each action in {self.label} must be one 'kind: parameters' pair, "
                "e.g. 'close: {}'",
            )
            return
        kind = actions.ACTIONS.get(name)
        if kind is None:
            self.error(
                (*path, name),
                f"'{name}' is not a valid action for {self.label}"
                + did_you_mean(name, actions.ACTIONS),
            )
            return
        params = actions.normalize_params(kind, loader.plain(value))
        here = (*path, name)
        if not isinstance(params, dict):
            self.error(here, f"action '{name}' in {self.label} needs a mapping of parameters")
            return
        try:
            parsed = kind.params.model_validate(params, context=self._names())
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(error["loc"])
                ctx = error.get("ctx") or {}
                if error["type"] == actions.INVALID_TARGET:
                    self.error((*here, *loc), f"{error['msg']} for {self.label}{ctx['hint']}")
                elif error["type"] == actions.UNKNOWN_NAME:
                    where = ".".join([name, *(str(part) for part in loc)])
                    self.error(
                        (*here, *loc),
                        f"{error['msg']} in '{where}' of {self.label}{ctx['hint']}",
                    )
                elif error["type"] == "extra_forbidden":
                    options = list(kind.params.model_fields)
                    self.error(
                        (*here, *loc),
                        f"'{loc[-1]}' is not a valid option for action '{name}' in "
                        f"{self.label}"
                        + (
                            did_you_mean(loc[-1], options)
                            or f" (options: {', '.join(options) or 'none'})"
                        ),
                    )
                elif error["type"] == "missing":
                    self.error(
                        here,
                        f"action '{name}' in {self.label} is missing required option '{loc[-1]}'",
                    )
                else:
                    where = ".".join([name, *(str(part) for part in loc)])
                    self.error(
                        (*here, *loc),
                        f"invalid value for '{where}' in {self.label}: {_lower(error['msg'])}",
                    )
            return
        self._action_values(name, kind, parsed, here)

    def _names(self) -> dict[str, set[str]] | None:
        """The names that exist, for the actions' parameter models to check references."""
        if self.known is None:
            return None
        return {"inboxes": self.known.inboxes, "users": self.known.users}

    def _action_values(self, name: str, kind: actions.ActionKind, parsed: Any, here: Path_) -> None:
        for param in kind.template_params:
            value = getattr(parsed, param)
            sources = value.values() if isinstance(value, dict) else [value]
            for source in sources:
                if not isinstance(source, str):
                    continue
                for problem in templates.check(source):
                    self.error((*here, param), f"{problem} in '{name}.{param}' of {self.label}")


def _lower(message: str) -> str:
    return message[:1].lower() + message[1:]


def _show(value: Any) -> str:
    return conditions.describe_value(value)


def to_spec(model: Rule, source: str) -> RuleSpec:
    """A validated rule as plain data for the workflow, with its version."""
    rule_actions = []
    for item in model.then:
        name, value = (item, None) if isinstance(item, str) else next(iter(item.items()))
        kind = actions.ACTIONS[name]
        params = kind.params.model_validate(actions.normalize_params(kind, value))
        rule_actions.append({"kind": name, "params": params.model_dump(mode="json")})
    wait = parse_duration(model.wait) if model.wait is not None else None
    meaning: dict[str, Any] = {
        "name": model.name,
        "triggers": list(model.trigger),
        "conditions": model.if_,
        "actions": rule_actions,
        "wait_seconds": int(wait.total_seconds()) if wait is not None else None,
        "run_once": model.run_once,
        "stop": model.stop,
        "include_automated": model.include_automated,
        "enabled": model.enabled,
    }
    if model.business:  # only when set: the versions of the rules without it stay the same
        meaning["wait_business"] = True
    return RuleSpec(
        version=rule_version(meaning),
        source=source,
        description=model.description,
        remote=any(actions.ACTIONS[str(action["kind"])].remote for action in rule_actions),
        **meaning,
    )


def check_text(text: str, display: str, known: Known | None = None) -> FileResult:
    """Validate one file's text. Rules come back only when the whole file is valid."""
    result = FileResult(display)
    try:
        data = loader.parse(text)
    except loader.YamlProblem as exc:
        result.problems.append(Problem(display, exc.line, str(exc)))
        return result
    if data is None:
        return result
    items = data if isinstance(data, list) else [data]
    if not isinstance(data, list | dict):
        result.problems.append(Problem(display, 1, "a rule file must hold a list of rules"))
        return result
    models: list[tuple[Rule, int]] = []
    for index, item in enumerate(items):
        root_path: Path_ = (index,) if isinstance(data, list) else ()
        name = item.get("name") if isinstance(item, dict) else None
        label = f"rule '{name}'" if isinstance(name, str) else f"rule #{index + 1}"
        checker = _RuleChecker(item, label, known)
        model = checker.check()
        for path, message in checker.errors:
            line = loader.line_of(data, (*root_path, *path))
            result.problems.append(Problem(display, line, message))
        if model is not None:
            models.append((model, loader.line_of(data, root_path)))
    specs = [to_spec(model, f"{display}:{line}") for model, line in models]
    unique, duplicates = first_of_each_name(specs)
    result.problems.extend(duplicates)
    result.problems.sort()
    if not result.problems:
        result.rules = unique
    return result


def first_of_each_name(rules: Iterable[RuleSpec]) -> tuple[list[RuleSpec], list[Problem]]:
    """The rules with a name not taken by an earlier one, and a problem for each other: the one
    check of duplicate names, within a file and across a folder's files."""
    kept: dict[str, RuleSpec] = {}
    problems = []
    for rule in rules:
        first = kept.get(rule.name)
        if first is None:
            kept[rule.name] = rule
            continue
        file, line = rule.source.rsplit(":", 1)
        problems.append(
            Problem(
                file,
                int(line),
                f"duplicate rule name '{rule.name}' (also defined at {first.source})",
            )
        )
    return list(kept.values()), problems


def display_name(path: Path) -> str:
    """A path as printed in problems: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def check_path(target: Path, known: Known | None = None) -> tuple[list[RuleSpec], list[Problem]]:
    """Validate a rule file or every rule file of a folder, including names across files."""
    files = loader.rule_files(target) if target.is_dir() else [target]
    rules: list[RuleSpec] = []
    problems: list[Problem] = []
    for path in files:
        display = display_name(path)
        try:
            text = loader.read_text(path)
        except loader.YamlProblem as exc:
            problems.append(Problem(display, exc.line, str(exc)))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(display, 1, f"cannot read the file: {exc}"))
            continue
        result = check_text(text, display, known)
        problems.extend(result.problems)
        rules.extend(result.rules)
    unique, duplicates = first_of_each_name(rules)
    return unique, problems + duplicates
