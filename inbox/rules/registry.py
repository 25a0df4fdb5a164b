"""The live rule set: loaded from ``INBOX_RULES_DIR`` and reloaded when a file changes.

A file with problems is reported and skipped, and the last good version of that file keeps
running until the fix is saved; the other files are unaffected. Every rule carries a version
(a hash of its content), so each evaluation records which version it used.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from inbox.contracts import RuleSpec
from inbox.rules import loader
from inbox.rules.validate import Problem, check_text, display_name, first_of_each_name

log = logging.getLogger(__name__)


@dataclass
class RuleSet:
    """The rules in force, in evaluation order (file name, then position in the file)."""

    rules: list[RuleSpec] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def for_triggers(self, triggers: Iterable[str]) -> list[RuleSpec]:
        """Enabled rules that list any of ``triggers``, in evaluation order."""
        wanted = set(triggers)
        return [rule for rule in self.rules if rule.enabled and wanted.intersection(rule.triggers)]

    def get(self, name: str) -> RuleSpec | None:
        """The rule called ``name``, if it is in force."""
        return next((rule for rule in self.rules if rule.name == name), None)


@dataclass
class _FileState:
    fingerprint: tuple[int, int]
    digest: str
    good: list[RuleSpec] | None
    problems: list[Problem]


class RuleRegistry:
    """Watches one folder. :meth:`current` is cheap (one ``stat`` per file) and thread-safe."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: dict[Path, _FileState] = {}
        self._lock = threading.Lock()

    def current(self) -> RuleSet:
        """The rule set as of now, reloading changed, new and removed files."""
        with self._lock:
            paths = loader.rule_files(self.directory)
            for gone in set(self._files) - set(paths):
                log.info("rule file %s removed; its rules no longer run", gone)
                del self._files[gone]
            for path in paths:
                self._refresh(path)
            return self._assemble(paths)

    def _refresh(self, path: Path) -> None:
        try:
            stat = path.stat()
            fingerprint = (stat.st_mtime_ns, stat.st_size)
            previous = self._files.get(path)
            if previous is not None and previous.fingerprint == fingerprint:
                return
            text = loader.read_text(path)
        except (OSError, UnicodeDecodeError, loader.YamlProblem) as exc:
            reason = (
                str(exc) if isinstance(exc, loader.YamlProblem) else f"cannot read the file: {exc}"
            )
            problem = Problem(display_name(path), 1, reason)
            previous = self._files.get(path)
            good = previous.good if previous else None
            self._files[path] = _FileState((0, 0), "", good, [problem])
            return
        digest = hashlib.sha256(text.encode()).hexdigest()
        if previous is not None and previous.digest == digest:
            previous.fingerprint = fingerprint
            return
        result = check_text(text, display_name(path))
        good = previous.good if previous is not None else None
        if result.problems:
            kept = "keeping its last good version" if good is not None else "skipped"
            log.warning(
                "rule file %s has %d problem(s), %s:\n%s",
                result.display,
                len(result.problems),
                kept,
                "\n".join(str(problem) for problem in result.problems),
            )
        else:
            good = result.rules
            log.info("loaded %d rule(s) from %s", len(good), result.display)
        self._files[path] = _FileState(fingerprint, digest, good, result.problems)

    def _assemble(self, paths: list[Path]) -> RuleSet:
        problems = [problem for path in paths for problem in self._files[path].problems]
        rules, duplicates = first_of_each_name(
            rule for path in paths for rule in self._files[path].good or []
        )
        return RuleSet(rules=rules, problems=problems + duplicates)


_registries: dict[Path, RuleRegistry] = {}
_registries_lock = threading.Lock()


def registry_for(directory: Path) -> RuleRegistry:
    """The process-wide registry of a folder (so last good versions survive between calls)."""
    found = _registries.get(directory)  # as given: resolving costs system calls every event
    if found is not None:
        return found
    key = directory.resolve()
    with _registries_lock:
        if key not in _registries:
            _registries[key] = RuleRegistry(key)
        _registries[directory] = _registries[key]
        return _registries[key]
