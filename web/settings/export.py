"""Settings · Export: contacts, and conversations with their messages, as streamed CSV."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from api.deps import SessionDep, StateDep
from inbox.services.admin import audit, export
from web.auth import AdminUser
from web.settings.common import admin_router, page

router: APIRouter = admin_router("export")


def _download(name: str) -> dict[str, str]:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return {"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"'}


@router.get("")
def export_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    """Links to the two exports."""
    return page(request, session, user, "export.html", "export")


@router.get("/contacts.csv")
def export_contacts(session: SessionDep, state: StateDep, user: AdminUser) -> Response:
    """Every contact with its numbers and custom fields."""
    audit.record(session, actor_id=user.id, action="export.contacts")
    session.commit()
    return StreamingResponse(
        export.contacts_csv(state.sessions),
        media_type="text/csv; charset=utf-8",
        headers=_download("contacts"),
    )


@router.get("/conversations.csv")
def export_conversations(session: SessionDep, state: StateDep, user: AdminUser) -> Response:
    """Every conversation with its messages, one row per message."""
    audit.record(session, actor_id=user.id, action="export.conversations")
    session.commit()
    return StreamingResponse(
        export.conversations_csv(state.sessions),
        media_type="text/csv; charset=utf-8",
        headers=_download("conversations"),
    )
