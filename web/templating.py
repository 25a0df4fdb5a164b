"""Jinja templates with block rendering: a full page normally, just one block for htmx."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from jinja2_fragments.fastapi import Jinja2Blocks
from markupsafe import Markup

from inbox.media import IMAGE_TYPES
from inbox.services.sla import SHORT
from web.segments import count_segments

TEMPLATES_DIR = Path(__file__).parent / "templates"

templates = Jinja2Blocks(directory=str(TEMPLATES_DIR))


def is_htmx(request: Request) -> bool:
    """True for a request htmx made (a boosted navigation wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
    )


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    block: str | None = None,
    blocks: list[str] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    fragment: bool = False,
) -> Response:
    """Render ``name``; for an htmx request (or ``fragment``, for endpoints that only ever
    answer with pieces) render only ``block`` (or ``blocks``) of it.

    ``Vary: HX-Request`` keeps a cache from serving a fragment as a page or the reverse.
    """
    context = {**context}
    all_headers = {"Vary": "HX-Request", **(headers or {})}
    partial = fragment or is_htmx(request)
    if partial and blocks:
        return templates.TemplateResponse(
            request, name, context, status_code=status_code, headers=all_headers, block_names=blocks
        )
    if partial and block:
        return templates.TemplateResponse(
            request, name, context, status_code=status_code, headers=all_headers, block_name=block
        )
    return templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=all_headers
    )


def ago(value: datetime | None, now: datetime | None = None) -> str:
    """A short relative time: ``now``, ``5m``, ``3h``, ``2d``, or a date for older ones."""
    if value is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = int((now - value).total_seconds())
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    if seconds < 7 * 86400:
        return f"{seconds // 86400}d"
    return value.strftime("%b %-d")


def since(value: datetime | None, now: datetime | None = None) -> str:
    """``ago`` as a phrase for prose: ``just now``, ``5m ago``, or ``on Mar 3``."""
    if value is None:
        return ""
    now = now or datetime.now(UTC)
    short = ago(value, now)
    if short == "now":
        return "just now"
    return f"{short} ago" if now - value < timedelta(days=7) else f"on {short}"


def duration(seconds: int | None) -> str:
    """Seconds as ``45s``, ``12m``, ``2h 5m`` or ``3d 4h``; an em dash when unknown."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def timestamp(value: datetime | None) -> str:
    """An absolute UTC time for tooltips and tables."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def tojson_attr(value: Any) -> Markup:
    """JSON for an HTML attribute (``hx-vals``, ``hx-headers``), escaped for the attribute."""
    return Markup.escape(json.dumps(value))


@dataclass(frozen=True)
class SlaBadge:
    state: str  # "running", "at-risk" or "breached" (its CSS class)
    text: str
    title: str


def sla_badge(
    target: str | None,
    at_risk_at: datetime | None,
    due_at: datetime | None,
    now: datetime | None = None,
) -> SlaBadge | None:
    """The badge of a conversation's SLA deadline due first: "First reply in 12m" (amber once
    at risk), "First reply overdue 5m" (red); None without one."""
    if target is None or due_at is None:
        return None
    now = now or datetime.now(UTC)
    label = SHORT.get(target, target)  # type: ignore[call-overload]  # StrEnum keys, str lookup
    left = int((due_at - now).total_seconds())
    title = f"SLA {target.replace('_', ' ')} due {timestamp(due_at)}"
    if left <= 0:
        return SlaBadge("breached", f"{label} overdue {duration(-left)}", title)
    state = "at-risk" if at_risk_at is not None and now >= at_risk_at else "running"
    return SlaBadge(state, f"{label} in {duration(left)}", title)


def sla(row: Any) -> Markup:
    """The badge's HTML for a conversation or a list row (empty without a deadline)."""
    badge = sla_badge(row.sla_target, row.sla_at_risk_at, row.sla_due_at)
    if badge is None:
        return Markup("")
    return Markup('<span class="sla-badge sla-{}" title="{}">{}</span>').format(
        badge.state, badge.title, badge.text
    )


# Kinds whose words are not just the value with spaces ("sla" is an acronym).
EVENT_LABELS = {"sla": "SLA"}


def event_label(kind: str) -> str:
    """A timeline or contact-log kind in words: ``conversation_closed`` → "conversation closed"."""
    return EVENT_LABELS.get(kind, kind.replace("_", " "))


templates.env.filters["ago"] = ago
templates.env.filters["event_label"] = event_label
templates.env.filters["since"] = since
templates.env.filters["duration"] = duration
templates.env.filters["timestamp"] = timestamp
templates.env.filters["jsonattr"] = tojson_attr
templates.env.globals["count_segments"] = count_segments
templates.env.globals["sla"] = sla
templates.env.globals["image_types"] = frozenset(IMAGE_TYPES)
