"""Settings · Channels: numbers, their type and the inbox their conversations land in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from api.deps import SessionDep
from inbox.models import Channel, ChannelType
from inbox.services.admin import channels
from inbox.services.admin.errors import SettingsError
from inbox.services.admin.inboxes import list_inboxes
from web.auth import AdminUser, CsrfProtected
from web.settings.common import admin_router, back, page

router: APIRouter = admin_router("channels")


def _show(request: Request, session: SessionDep, user: AdminUser, **extra: Any) -> Response:
    return page(
        request,
        session,
        user,
        "channels.html",
        "channels",
        channels=channels.list_channels(session),
        inboxes=list_inboxes(session),
        types=list(ChannelType),
        **extra,
    )


@router.get("")
def channels_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    """The channels, and a form to add one."""
    return _show(request, session, user)


@router.post("", dependencies=[CsrfProtected])
def channel_create(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    name: Annotated[str, Form()] = "",
    number: Annotated[str, Form()] = "",
    default_inbox_id: Annotated[int, Form()] = 0,
    type: Annotated[str, Form()] = ChannelType.SMS,
) -> Response:
    """Add a channel; on bad input the form comes back with the reason, nothing saved."""
    try:
        channels.create_channel(
            session,
            name=name,
            number=number,
            default_inbox_id=default_inbox_id,
            type=type,
            actor_id=user.id,
        )
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=422)
    session.commit()
    return back("/settings/channels")


def _channel(session: SessionDep, channel_id: int) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise HTTPException(status_code=404, detail="No such channel")
    return channel


@router.post("/{channel_id}", dependencies=[CsrfProtected])
def channel_update(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    channel_id: int,
    name: Annotated[str, Form()] = "",
    number: Annotated[str, Form()] = "",
    default_inbox_id: Annotated[int, Form()] = 0,
) -> Response:
    """Change a channel's name, number or default inbox."""
    channel = _channel(session, channel_id)
    try:
        channels.update_channel(
            session,
            channel=channel,
            name=name,
            number=number,
            default_inbox_id=default_inbox_id,
            actor_id=user.id,
        )
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=422)
    session.commit()
    return back("/settings/channels")


@router.post("/{channel_id}/delete", dependencies=[CsrfProtected])
def channel_delete(
    request: Request, session: SessionDep, user: AdminUser, channel_id: int
) -> Response:
    """Delete an unused channel (one with conversations is refused, with the reason)."""
    channel = _channel(session, channel_id)
    try:
        channels.delete_channel(session, channel=channel, actor_id=user.id)
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, error=str(exc), status_code=409)
    session.commit()
    return back("/settings/channels")
