"""What every settings page shares: the admin-only router factory and the page context."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from inbox.models import User
from web.auth import require_admin
from web.deps import page_context
from web.templating import render

# The settings pages, in the side navigation's order: (path, label).
PAGES: list[tuple[str, str]] = [
    ("channels", "Channels"),
    ("inboxes", "Inboxes"),
    ("users", "Users"),
    ("blocklist", "Spam blocklist"),
    ("fields", "Custom fields"),
    ("merge-fields", "Merge fields"),
    ("canned-replies", "Canned replies"),
    ("import", "Import"),
    ("export", "Export"),
    ("api-keys", "API keys"),
    ("automation", "Automation"),
    ("compliance", "Compliance"),
    ("audit", "Audit log"),
]


def admin_router(page: str) -> APIRouter:
    """A router for ``/settings/<page>`` whose every route requires an admin.

    The check is a router dependency, so it runs before the route's own (CSRF, forms): someone
    signed out is sent to sign in, a manager or agent gets 403, whatever the route."""
    return APIRouter(
        prefix=f"/settings/{page}" if page else "/settings",
        tags=["settings"],
        dependencies=[Depends(require_admin)],
    )


def context(
    request: Request, session: Session, user: User, page: str, **extra: Any
) -> dict[str, Any]:
    """The layout's context plus the settings navigation."""
    return page_context(
        request,
        session,
        user,
        section="settings",
        page=page,
        pages=PAGES,
        **{"error": None, **extra},
    )


def page(
    request: Request,
    session: Session,
    user: User,
    template: str,
    name: str,
    /,
    *,
    status_code: int = 200,
    block: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """Render a settings page (just ``block`` for htmx)."""
    return render(
        request,
        f"settings/{template}",
        context(request, session, user, name, **extra),
        status_code=status_code,
        block=block,
        headers=headers,
    )


def back(url: str) -> Response:
    """After a change: see the page again (POST-redirect-GET)."""
    return RedirectResponse(url, status_code=303)
