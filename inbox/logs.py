"""Logging for every ``inbox`` process: plain text for a terminal, or ``INBOX_LOG_FORMAT=json``,
one JSON object per line for a log pipeline.

Each record logged inside an activity or a workflow carries Temporal's ``workflow_id`` and
``run_id``, and the ``conversation_id`` the workflow id names (``conversation-<id>``); records
from elsewhere (the web, the relay) name what they are about in their message.

Message bodies and phone numbers are kept out of the log calls themselves (they log ids and
codes). :class:`Redact` is the safety net for text we do not write (a provider's error, an
exception): anything shaped like a phone number becomes ``[number]``, in every format.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from temporalio import activity, workflow

JSON, TEXT = "json", "text"
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
IDS = ("conversation_id", "workflow_id", "run_id")

# A run of 7 to 15 digits, optionally led by "+", with the separators people write between
# groups ("+1 (202) 555-0143"); not a date ("2026-12-01"), nor part of a word, time or decimal.
_NUMBER = re.compile(r"(?<![\w.:])(?!\d{4}-\d{2}-\d{2})\+?\(?\d(?:[ ().-]{0,2}\d){6,14}(?![\w.:])")
_CONVERSATION = re.compile(r"^conversation-(\d+)$")


def redact(text: str) -> str:
    """``text`` with anything shaped like a phone number replaced by ``[number]``."""
    return _NUMBER.sub("[number]", text)


def _temporal_ids() -> dict[str, Any]:
    if activity.in_activity():
        info = activity.info()
        return {"workflow_id": info.workflow_id, "run_id": info.workflow_run_id}
    if workflow.in_workflow():
        winfo = workflow.info()
        return {"workflow_id": winfo.workflow_id, "run_id": winfo.run_id}
    return {}


class Context(logging.Filter):
    """Adds the ids of the activity or workflow the record was logged in."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids: dict[str, Any] = _temporal_ids()
        # Temporal's workflow.logger passes its own (replayed records have no current info).
        extra = getattr(record, "temporal_workflow", None)
        if isinstance(extra, dict):
            ids.setdefault("workflow_id", extra.get("workflow_id"))
            ids.setdefault("run_id", extra.get("run_id"))
        workflow_id = ids.get("workflow_id")
        if "conversation_id" not in ids and isinstance(workflow_id, str):
            match = _CONVERSATION.match(workflow_id)
            if match:
                ids["conversation_id"] = int(match.group(1))
        for name in IDS:
            if ids.get(name) is not None and not hasattr(record, name):
                setattr(record, name, ids[name])
        return True


class Redact(logging.Filter):
    """Replaces phone-number-shaped text in the message (arguments merged in first), and drops
    the query string from uvicorn's access log (searches, numbers to look up)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            record.args = (args[0], args[1], str(args[2]).split("?", 1)[0], *args[3:])
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the ids, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in IDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def handler(fmt: str, stream: Any = None) -> logging.Handler:
    """A handler writing ``fmt`` (``json`` or ``text``) to ``stream`` (stderr), with the
    context and redaction filters."""
    out = logging.StreamHandler(stream or sys.stderr)
    out.setFormatter(JsonFormatter() if fmt == JSON else logging.Formatter(TEXT_FORMAT, "%H:%M:%S"))
    out.addFilter(Context())
    out.addFilter(Redact())
    return out


def configure(level: str, fmt: str) -> None:
    """Log ``level`` and up from every logger to stderr in ``fmt``."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(fmt))
    root.setLevel(level.upper())


def uvicorn_config(level: str, fmt: str) -> dict[str, Any]:
    """A logging config for ``uvicorn.run(log_config=...)``: uvicorn applies it in each of its
    worker processes, so they log like the rest (its own and its access log included)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"default": {"()": handler, "fmt": fmt}},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level.upper()}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
