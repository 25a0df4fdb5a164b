"""The SMS simulator's phone: text in as a contact, read what the inbox sent back.

Exists only with ``INBOX_SMS_PROVIDER=simulator``. Texts typed here take the same inbound path
as Twilio's webhook (:func:`api.routes.webhooks.accept_inbound`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from starlette.concurrency import run_in_threadpool

from api.deps import CommitDep, SessionDep, StateDep
from api.routes.webhooks import accept_inbound
from api.state import AppState
from inbox.media import MediaRefused, read_upload, store_image
from inbox.models import Channel, SimulatorMessage
from inbox.phone import InvalidNumber, normalize_number
from inbox.providers.simulator import new_sid
from inbox.services.outbound import MAX_BODY_CHARS

router = APIRouter(prefix="/simulator", tags=["simulator"])
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")

MAX_THREAD = 500


class SimulatedText(BaseModel):
    """A text the simulated phone sends."""

    model_config = ConfigDict(populate_by_name=True)

    from_number: str = Field(alias="from", description="the contact's number")
    to_number: str = Field(alias="to", description="the channel's number")
    body: str = Field(max_length=MAX_BODY_CHARS)


class SimulatedSent(BaseModel):
    sid: str
    message_id: int
    conversation_id: int
    created: bool


def _normalize(raw: str, field: str) -> str:
    try:
        return normalize_number(raw)
    except InvalidNumber as exc:
        raise HTTPException(400, f"malformed field {field}: {exc}") from exc


def _channels(state: AppState) -> list[dict[str, Any]]:
    with state.sessions() as session:
        rows = session.scalars(
            select(Channel).where(Channel.number.is_not(None)).order_by(Channel.id)
        )
        return [{"id": c.id, "name": c.name, "number": c.number} for c in rows]


def _messages(state: AppState, number: str | None, channel: str | None) -> list[dict[str, Any]]:
    with state.sessions() as session:
        query = select(SimulatorMessage)
        if number is not None:
            query = query.where(
                or_(SimulatorMessage.to_number == number, SimulatorMessage.from_number == number)
            )
        if channel is not None:
            query = query.where(
                or_(SimulatorMessage.to_number == channel, SimulatorMessage.from_number == channel)
            )
        rows = session.scalars(query.order_by(SimulatorMessage.id.desc()).limit(MAX_THREAD))
        return [
            {
                "sid": row.sid,
                "direction": row.direction,
                "from": row.from_number,
                "to": row.to_number,
                "body": row.body,
                "media": row.media,
                "status": row.status,
                "created_at": row.created_at.isoformat(),
            }
            for row in reversed(list(rows))
        ]


@router.get("", response_class=HTMLResponse, summary="The simulated phone")
async def phone(request: Request, state: StateDep) -> HTMLResponse:
    """A small phone page: pick a channel, type the contact's number, text back and forth."""
    channels = await run_in_threadpool(_channels, state)
    return templates.TemplateResponse(request, "simulator.html", {"channels": channels})


@router.get("/api/messages", summary="The simulated phone's messages")
async def messages(
    state: StateDep,
    number: str | None = Query(None, description="a contact's number; all messages if omitted"),
    channel: str | None = Query(None, description="only messages with this channel number"),
) -> dict[str, list[dict[str, Any]]]:
    """What the simulator delivered to ``number`` and what ``number`` texted in (every number's
    when omitted), oldest first, at most the latest 500."""
    contact = _normalize(number, "number") if number else None
    channel_number = _normalize(channel, "channel") if channel else None
    return {"messages": await run_in_threadpool(_messages, state, contact, channel_number)}


@router.post("/api/send", summary="Text in as a contact")
async def send(
    text: SimulatedText, state: StateDep, session: SessionDep, commit: CommitDep
) -> SimulatedSent:
    """The contact's phone sends ``body`` to the channel number: the inbound path runs."""
    if not text.body.strip():
        raise HTTPException(400, "missing field body")
    return await _text_in(state, session, commit, text, media=[])


@router.post("/api/send-image", summary="Send a picture in as a contact (an MMS)")
async def send_image(
    state: StateDep,
    session: SessionDep,
    commit: CommitDep,
    from_number: Annotated[str, Form(alias="from")],
    to_number: Annotated[str, Form(alias="to")],
    image: Annotated[UploadFile, File()],
    body: Annotated[str, Form(max_length=MAX_BODY_CHARS)] = "",
) -> SimulatedSent:
    """The contact's phone sends an image (JPEG, PNG, GIF or WebP, up to 5 MB) with an
    optional ``body``: it is kept in the data folder and arrives as Twilio's MMS would."""
    data = await run_in_threadpool(read_upload, image.file)
    try:
        item = await run_in_threadpool(store_image, state.settings, data)
    except MediaRefused as exc:
        if exc.status == 422:  # shaped like FastAPI's own 422s, as the schema says
            detail: object = [{"loc": ["body", "image"], "msg": str(exc), "type": "value_error"}]
        else:
            detail = str(exc)
        raise HTTPException(exc.status, detail) from exc
    text = SimulatedText.model_validate({"from": from_number, "to": to_number, "body": body})
    return await _text_in(state, session, commit, text, media=[item])


async def _text_in(
    state: AppState,
    session: SessionDep,
    commit: CommitDep,
    text: SimulatedText,
    media: list[dict[str, Any]],
) -> SimulatedSent:
    sid = new_sid()
    result = await accept_inbound(
        state,
        session,
        commit,
        {"from_number": "from", "to_number": "to"},
        provider_message_id=sid,
        from_number=text.from_number,
        to_number=text.to_number,
        body=text.body,
        media=media,
    )
    return SimulatedSent(
        sid=sid,
        message_id=result.message.id,
        conversation_id=result.conversation.id,
        created=result.created,
    )
