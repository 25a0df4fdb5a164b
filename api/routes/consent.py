"""``/api/v1/consent``: the consent records, for audits and for the systems that keep their own
lists (every opt-out and opt-in with its time, keyword, channel and message).

Consent is kept per number for the whole business, so only a key that sees every inbox may
read them (a key scoped to some inboxes gets 403)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.auth import ApiScope, require_api_key
from api.deps import SessionDep
from api.schemas import ErrorOut
from inbox.limits import MAX_ID
from inbox.models import ConsentRecord
from inbox.services.admin import compliance

router = APIRouter(
    prefix="/api/v1/consent",
    tags=["consent"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut, "description": "Missing, invalid or revoked API key"}},
)


class ConsentRecordOut(BaseModel):
    at: str
    number: str
    action: str
    method: str
    keyword: str | None
    channel_id: int | None
    message_id: int | None
    contact_id: int | None
    note: str


class ConsentRecordPage(BaseModel):
    """One page of consent records, oldest first."""

    items: list[ConsentRecordOut]
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null on the last page."
    )


@router.get(
    "/records",
    response_model=ConsentRecordPage,
    responses={
        200: {
            "description": "A page of records, or with `format=csv` every record as one file",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        403: {"model": ErrorOut, "description": "The key does not see every inbox"},
    },
)
def consent_records(
    session: SessionDep,
    scope: ApiScope,
    format: Literal["json", "csv"] = Query("json"),
    after: Annotated[
        int, Query(ge=0, le=MAX_ID, description="`next_after` of the previous page.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response | ConsentRecordPage:
    """Every consent change, oldest first; ``format=csv`` for the whole file an audit takes."""
    if not scope.everything:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "consent records are business-wide: use a key for every inbox",
        )
    if format == "csv":
        return Response(compliance.export_csv(session), media_type="text/csv")
    rows = list(
        session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.id > after)
            .order_by(ConsentRecord.id)
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        ConsentRecordOut(
            at=record.created_at.isoformat(),
            number=record.number,
            action=record.action,
            method=record.method,
            keyword=record.keyword,
            channel_id=record.channel_id,
            message_id=record.message_id,
            contact_id=record.contact_id,
            note=record.note,
        )
        for record in rows
    ]
    return ConsentRecordPage(items=items, next_after=rows[-1].id if more else None)
