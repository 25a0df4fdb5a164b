"""Reading rule files: YAML with line numbers kept, so every problem can name ``file:line``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

RULE_SUFFIXES = (".yaml", ".yml")


class YamlProblem(ValueError):
    """A file that is not valid YAML; ``line`` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def parse(text: str) -> Any:
    """Parse YAML keeping positions (ruamel's round-trip nodes carry ``.lc``)."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlProblem(f"invalid YAML: {problem}", line) from exc
    except YAMLError as exc:
        raise YamlProblem(f"invalid YAML: {exc}", 1) from exc


def line_of(root: Any, path: tuple[Any, ...], default: int = 1) -> int:
    """The 1-based line of the node at ``path`` (keys and list indexes) inside ``root``.

    Walks as far as the path exists, so an error about a missing or unexpected child points at
    its nearest ancestor.
    """
    node, line = root, default
    for part in path:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def plain(value: Any) -> Any:
    """ruamel's nodes as plain dicts, lists and scalars (JSON-safe)."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, bool | int | float | str) or value is None:
        if isinstance(value, str):
            return str(value)
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return float(value)
        return value
    return str(value)


def rule_files(directory: Path) -> list[Path]:
    """Rule files in ``directory`` (not recursive), in name order: that is evaluation order."""
    if not directory.is_dir():
        return []
    return sorted(
        path
        for path in directory.iterdir()
        if path.suffix in RULE_SUFFIXES and path.is_file() and not path.name.startswith(".")
    )


@dataclass(frozen=True)
class SourceFile:
    path: Path
    display: str
    text: str


def read(path: Path, display: str | None = None) -> SourceFile:
    """Read a rule file (UTF-8)."""
    return SourceFile(path, display or str(path), path.read_text(encoding="utf-8"))
