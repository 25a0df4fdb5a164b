"""Rule files and templates with limits: YAML deeper, larger or expanding further than a rule
file should is refused with ``file:line`` and no traceback, by ``inbox rules check`` and by
the hot-reloading registry; templates render within an output size and a loop budget."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from inbox.cli import main as cli
from inbox.rules import loader, templates
from inbox.rules.registry import RuleRegistry
from inbox.sandbox import MAX_OUTPUT_CHARS
from web.merge import MergeError, render_merge_fields

GOOD = "- name: ok\n  trigger: closed\n  then: [close]\n"


def _deep() -> str:
    """Valid YAML nested 5,000 levels deep (small: under the size limit)."""
    return "- name: deep\n  trigger: closed\n  if:\n    - x: " + "[" * 5000 + "]" * 5000 + "\n"


def _alias_bomb() -> str:
    """Nine lines that expand to 9**9 (387 million) values."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("deep.yaml", _deep(), ":4: nested more than 32 levels deep"),
        ("bomb.yaml", _alias_bomb(), ":5: more than 20,000 values once its aliases are expanded"),
        ("big.yaml", "# " + "x" * loader.MAX_FILE_BYTES + "\n", ":1: the file is"),
        ("loop.yaml", "a: &a\n  - *a\n", ":2: alias *a refers to itself"),
    ],
)
def test_rules_check_refuses_with_file_and_line_and_no_traceback(
    tmp_path: Path, capsys, name, text, expected
):
    (tmp_path / name).write_text(text)
    (tmp_path / "good.yaml").write_text(GOOD)
    started = time.monotonic()
    assert cli.main(["rules", "check", str(tmp_path), "--no-db"]) == 1
    assert time.monotonic() - started < 10  # it was a RecursionError, or 84 s to a MemoryError
    out = capsys.readouterr().out
    assert f"{name}{expected}" in out, out
    assert "Traceback" not in out and "1 rule(s) OK, 1 problem(s)" in out


def test_the_registry_skips_such_a_file_and_keeps_the_others(tmp_path: Path):
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "bomb.yaml").write_text(_alias_bomb())
    rule_set = RuleRegistry(tmp_path).current()
    assert [rule.name for rule in rule_set.rules] == ["ok"]
    assert len(rule_set.problems) == 1 and rule_set.problems[0].line == 5


def test_files_within_the_limits_still_load():
    nested = "a: " + "[" * 30 + "]" * 30 + "\n"  # 31 levels with the mapping: allowed
    assert loader.parse(nested) is not None
    assert loader.parse(_alias_bomb().split("\n")[0] + "\nb: [*a0, *a0]\n") is not None


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'a' * 200000000 }}",
        "{{ 'a' | center(200000000) }}",
        "{{ '%200000000d' % 1 }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s }}",
        "{% for i in range(30000) %}{{ 'xyz' }}{% endfor %}",
    ],
)
def test_templates_render_within_limits(template: str):
    started = time.monotonic()
    with pytest.raises(templates.TemplateProblem):
        templates.render(template, templates.context_from_facts({}))
    with pytest.raises(MergeError):
        render_merge_fields(template, {"contact": {"first_name": "Ann"}})
    assert time.monotonic() - started < 2


def test_ordinary_templates_are_untouched():
    context = templates.context_from_facts({"contact.first_name": "Ann"})
    assert (
        templates.render("Hi {{ contact.first_name ~ '!' }} {{ 'x' * 3 }}", context)
        == "Hi Ann! xxx"
    )
    assert len(render_merge_fields(f"{{{{ 'a' * {MAX_OUTPUT_CHARS} }}}}", {})) == MAX_OUTPUT_CHARS
