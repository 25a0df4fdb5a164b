"""Settings · Audit log: every settings change, who made it and when."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SessionDep
from inbox.services.admin import audit
from web.auth import AdminUser
from web.settings.common import admin_router, page

router: APIRouter = admin_router("audit")

AREAS = ["channel", "inbox", "user", "blocklist", "field", "import", "export", "api_key"]


@router.get("")
def audit_page(request: Request, session: SessionDep, user: AdminUser, area: str = "") -> Response:
    """The latest 200 changes, newest first, optionally of one area."""
    prefix = f"{area}." if area in AREAS else ""
    entries = audit.recent(session, action_prefix=prefix)
    return page(
        request,
        session,
        user,
        "audit.html",
        "audit",
        entries=entries,
        names=audit.actor_names(session, entries),
        areas=AREAS,
        area=area,
    )
