"""Settings · Channels: numbers, their type and the inbox their conversations land in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response

from api.deps import SessionDep, StateDep
from inbox.limits import DbId
from inbox.models import Channel, ChannelType
from inbox.providers import SmsProvider, get_provider
from inbox.services.admin import channels
from inbox.services.admin.errors import SettingsError
from inbox.services.admin.inboxes import list_inboxes
from web.auth import AdminUser, CsrfProtected
from web.settings.common import admin_router, back, page

router: APIRouter = admin_router("channels")


def channel_provider(state: StateDep) -> SmsProvider:
    """The configured SMS provider, made for this request: its numbers are asked afresh each
    time the page is shown, never cached. Tests override this dependency with a stub."""
    return get_provider(state.settings, state.sessions)


ProviderDep = Annotated[SmsProvider, Depends(channel_provider)]


def _show(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    provider: SmsProvider,
    **extra: Any,
) -> Response:
    """The page; ``form`` (the add form) or ``edit`` (one row) re-fill what was submitted."""
    return page(
        request,
        session,
        user,
        "channels.html",
        "channels",
        channels=channels.list_channels(session),
        inboxes=list_inboxes(session),
        types=list(ChannelType),
        choices=channels.number_choices(session, provider=provider),
        **{"form": {}, "edit": {}, **extra},
    )


@router.get("")
def channels_page(
    request: Request, session: SessionDep, user: AdminUser, provider: ProviderDep
) -> Response:
    """The channels, and a form to add one (the number picked from the provider's, if listed)."""
    return _show(request, session, user, provider)


@router.post("", dependencies=[CsrfProtected])
def channel_create(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    provider: ProviderDep,
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
        form = {"name": name, "number": number, "default_inbox_id": default_inbox_id, "type": type}
        return _show(request, session, user, provider, error=str(exc), form=form, status_code=422)
    session.commit()
    return back("/settings/channels")


def _channel(session: SessionDep, channel_id: DbId) -> Channel:
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise HTTPException(status_code=404, detail="No such channel")
    return channel


@router.post("/{channel_id}", dependencies=[CsrfProtected])
def channel_update(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    provider: ProviderDep,
    channel_id: DbId,
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
        edit = {
            "id": channel_id,
            "name": name,
            "number": number,
            "default_inbox_id": default_inbox_id,
        }
        return _show(request, session, user, provider, error=str(exc), edit=edit, status_code=422)
    session.commit()
    return back("/settings/channels")


@router.post("/{channel_id}/consent", dependencies=[CsrfProtected])
def channel_consent_replies(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    provider: ProviderDep,
    channel_id: DbId,
    consent_replies: Annotated[str, Form()] = "app",
    opt_out_reply: Annotated[str, Form()] = "",
    opt_in_reply: Annotated[str, Form()] = "",
    help_reply: Annotated[str, Form()] = "",
) -> Response:
    """Who answers STOP, START and HELP on the channel, and the texts (empty: the default)."""
    channel = _channel(session, channel_id)
    try:
        channels.set_consent_replies(
            session,
            channel=channel,
            mode=consent_replies,
            opt_out_reply=opt_out_reply,
            opt_in_reply=opt_in_reply,
            help_reply=help_reply,
            actor_id=user.id,
        )
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, provider, error=str(exc), status_code=422)
    session.commit()
    return back("/settings/channels")


@router.post("/{channel_id}/delete", dependencies=[CsrfProtected])
def channel_delete(
    request: Request, session: SessionDep, user: AdminUser, provider: ProviderDep, channel_id: DbId
) -> Response:
    """Delete an unused channel (one with conversations is refused, with the reason)."""
    channel = _channel(session, channel_id)
    try:
        channels.delete_channel(session, channel=channel, actor_id=user.id)
    except SettingsError as exc:
        session.rollback()
        return _show(request, session, user, provider, error=str(exc), status_code=409)
    session.commit()
    return back("/settings/channels")
