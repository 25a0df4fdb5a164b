"""Settings · Automation: the rule files in force, their problems, and recent rule runs.

Rules are YAML files kept in git (``INBOX_RULES_DIR``); this page shows, it does not edit."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SessionDep, SettingsDep
from inbox.models.base import utcnow
from inbox.services.admin import automation, rule_stats
from web.auth import AdminUser
from web.settings.common import admin_router, page

router: APIRouter = admin_router("automation")


@router.get("")
def automation_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: AdminUser,
    outcome: str = "",
) -> Response:
    """Rule files with validation status and last change; each rule's fired / skipped / failed
    counts over 7 and 30 days with its top skip reasons; the latest runs."""
    files = automation.rule_files_status(settings.rules_dir)
    return page(
        request,
        session,
        user,
        "automation.html",
        "automation",
        rules_dir=settings.rules_dir,
        files=files,
        rule_count=sum(len(f.rules) for f in files),
        problem_count=sum(len(f.problems) for f in files),
        runs=automation.recent_runs(
            session, outcome=outcome if outcome in ("fired", "skipped") else ""
        ),
        outcome=outcome,
        stats=rule_stats.rule_stats(
            session, rules_in_force=automation.rules_in_force(settings.rules_dir), now=utcnow()
        ),
        windows=rule_stats.WINDOWS,
    )
