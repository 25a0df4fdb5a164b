"""Reading rule files: YAML with line numbers kept, so every problem can name ``file:line``.

A rule file is read by every worker and web process whenever it changes, so it is refused
(as a ``file:line`` problem, like any other) before it can cost more than a rule file should:

- larger than :data:`MAX_FILE_BYTES`;
- nested deeper than :data:`MAX_DEPTH` mappings and lists (the YAML composer recurses once
  per level: a deep file ended in a RecursionError);
- more than :data:`MAX_NODES` nodes once its aliases are expanded (a "billion laughs" file of
  a few lines expands to millions of nodes: it ran out of memory after 84 s).

These are checked on the parser's event stream, which needs no recursion and builds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    NodeEvent,
)

RULE_SUFFIXES = (".yaml", ".yml")
# The shipped rule files are a few KiB each; these leave ample room for real ones.
MAX_FILE_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_NODES = 20_000


class YamlProblem(ValueError):
    """A file that is not valid YAML; ``line`` is 1-based."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def check_size(size: int) -> None:
    """YamlProblem for a file of ``size`` bytes over :data:`MAX_FILE_BYTES`."""
    if size > MAX_FILE_BYTES:
        raise YamlProblem(
            f"the file is {size:,} bytes; a rule file may be at most {MAX_FILE_BYTES:,}", 1
        )


def check_shape(text: str) -> None:
    """YamlProblem (with the line) for YAML nested deeper than :data:`MAX_DEPTH` or expanding
    to more than :data:`MAX_NODES` nodes through its aliases. Malformed YAML passes: the
    parse that follows reports it with its own message."""
    depth = 0
    total = 0  # nodes so far, each alias counted as the whole node it repeats
    sizes: dict[str, int] = {}  # anchor -> expanded size of its node
    open_: list[tuple[str | None, int]] = []  # enclosing collections: (anchor, total at start)
    try:
        for event in YAML(typ="rt").parse(text):
            line = event.start_mark.line + 1 if event.start_mark is not None else 1
            if isinstance(event, AliasEvent):
                if any(anchor == event.anchor for anchor, _ in open_):
                    raise YamlProblem(f"alias *{event.anchor} refers to itself", line)
                total += sizes.get(str(event.anchor), 1)
            elif isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlProblem(
                        f"nested more than {MAX_DEPTH} levels deep; a rule needs far fewer", line
                    )
                open_.append((event.anchor, total))
                total += 1
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
                anchor, start = open_.pop()
                if anchor is not None:
                    sizes[anchor] = total - start
            elif isinstance(event, NodeEvent):  # a scalar
                total += 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            if total > MAX_NODES:
                raise YamlProblem(
                    f"more than {MAX_NODES:,} values once its aliases are expanded "
                    "(an alias bomb?)",
                    line,
                )
    except YAMLError:
        return


def parse(text: str) -> Any:
    """Parse YAML keeping positions (ruamel's round-trip nodes carry ``.lc``), after the size
    and shape limits (YamlProblem when one is passed)."""
    check_size(len(text.encode()))
    check_shape(text)
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


def read_text(path: Path) -> str:
    """A rule file's text (UTF-8); YamlProblem, without reading it, when it is too large."""
    check_size(path.stat().st_size)
    return path.read_text(encoding="utf-8")


def read(path: Path, display: str | None = None) -> SourceFile:
    """Read a rule file (UTF-8)."""
    return SourceFile(path, display or str(path), read_text(path))
