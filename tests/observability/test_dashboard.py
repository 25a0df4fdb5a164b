"""docs/grafana-dashboard.json charts only metrics that are exported: every name in every
expression is one of ours (inbox.metrics.EXPORTED) or one of the Temporal SDK's that the worker
test finds in a scrape (inbox.metrics.TEMPORAL_SDK)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from inbox import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"
# PromQL words that are not metric names.
PROMQL = {
    "sum", "max", "min", "avg", "count", "rate", "increase", "irate", "histogram_quantile",
    "by", "without", "and", "or", "unless", "on", "ignoring", "offset",
}  # fmt: skip
SUFFIXES = ("_bucket", "_sum", "_count")


def _exprs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            yield node["expr"]
        for child in node.values():
            yield from _exprs(child)
    elif isinstance(node, list):
        for child in node:
            yield from _exprs(child)


def metric_names(expr: str) -> set[str]:
    """The metric names in one PromQL expression (label matchers, groupings, ranges and
    strings taken out first)."""
    bare = re.sub(r'"[^"]*"', "", expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", bare)
    bare = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", bare)
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare)) - PROMQL
    return {_family(word) for word in words}


def _family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def test_every_expression_names_only_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = list(_exprs(dashboard))
    assert len(exprs) >= 15
    known = metrics.EXPORTED | metrics.TEMPORAL_SDK
    charted: set[str] = set()
    for expr in exprs:
        names = metric_names(expr)
        assert names, expr
        assert names <= known, (expr, names - known)
        charted |= names
    # And every metric we export has a chart.
    assert charted >= metrics.EXPORTED, metrics.EXPORTED - charted


def test_the_name_check_catches_a_typo() -> None:
    assert metric_names('sum by (route) (rate(inbox_http_request_total{status="200"}[5m]))') == {
        "inbox_http_request_total"
    }
    assert "inbox_http_request_total" not in metrics.EXPORTED
