# mypy: disable-error-code="type-arg,union-attr,no-untyped-call"
"""Hot reload: changes apply on the next call; a broken file keeps its last good version."""

from __future__ import annotations

import os
from pathlib import Path

from inbox.rules.registry import RuleRegistry

GOOD = "- name: greet\n  trigger: message_received\n  then:\n    - send_sms: Hello\n"
CHANGED = "- name: greet\n  trigger: message_received\n  then:\n    - send_sms: Hello again\n"
BROKEN = "- name: greet\n  trigger: message_received\n  wiat: 1m\n  then:\n    - send_sms: Hi\n"
OTHER = "- name: bye\n  trigger: closed\n  then: [reopen]\n"


def _write(path: Path, text: str) -> None:
    path.write_text(text)
    # Make sure the change is seen even on file systems with coarse timestamps.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_reload_and_last_good_version(tmp_path: Path) -> None:
    registry = RuleRegistry(tmp_path)
    assert registry.current().rules == []

    _write(tmp_path / "greet.yaml", GOOD)
    _write(tmp_path / "other.yaml", OTHER)
    first = registry.current()
    assert [r.name for r in first.rules] == ["greet", "bye"]
    version_1 = first.get("greet").version

    _write(tmp_path / "greet.yaml", CHANGED)
    second = registry.current()
    assert second.get("greet").actions[0]["params"]["text"] == "Hello again"
    version_2 = second.get("greet").version
    assert version_2 != version_1

    # A broken save: reported, and the last good version keeps running; other files unaffected.
    _write(tmp_path / "greet.yaml", BROKEN)
    third = registry.current()
    assert third.get("greet").version == version_2
    assert [str(p).split("/")[-1] for p in third.problems] == [
        "greet.yaml:3: 'wiat' is not a valid option for rule 'greet' (did you mean 'wait'?)"
    ]
    assert third.get("bye") is not None

    _write(tmp_path / "greet.yaml", GOOD)
    fixed = registry.current()
    assert fixed.problems == [] and fixed.get("greet").version == version_1

    (tmp_path / "other.yaml").unlink()
    assert [r.name for r in registry.current().rules] == ["greet"]


def test_a_new_broken_file_is_skipped_and_the_rest_load(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", BROKEN)
    _write(tmp_path / "b.yaml", OTHER)
    rule_set = RuleRegistry(tmp_path).current()
    assert [r.name for r in rule_set.rules] == ["bye"]
    assert len(rule_set.problems) == 1


def test_duplicate_names_across_files_keep_the_first(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", OTHER)
    _write(tmp_path / "b.yaml", OTHER)
    rule_set = RuleRegistry(tmp_path).current()
    assert [r.source.split("/")[-1] for r in rule_set.rules] == ["a.yaml:1"]
    assert "duplicate rule name 'bye'" in rule_set.problems[0].message


DISABLED = (
    "- name: off\n  trigger: message_received\n  enabled: false\n  then:\n    - send_sms: Hi\n"
)


def test_an_events_rules_are_the_enabled_rules_of_its_triggers(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", GOOD)
    _write(tmp_path / "b.yaml", OTHER)
    _write(tmp_path / "c.yaml", DISABLED)
    rule_set = RuleRegistry(tmp_path).current()
    selected = rule_set.for_triggers(["opened", "message_received"])
    assert [rule.name for rule in selected] == ["greet"]  # not "bye", not "off"
