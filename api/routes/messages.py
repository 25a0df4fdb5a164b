"""``/api/v1/messages``: a one-off SMS to a contact (a welcome text, a receipt).

It creates no conversation: if the contact replies, the inbound path starts one as for any
inbound message. The message is delivered by its own ``SendMessageWorkflow``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, status
from starlette.concurrency import run_in_threadpool

from api.auth import ApiScope, require_api_key
from api.deps import CommitDep, SessionDep
from api.errors import Refused
from api.routes.conversations import field_error
from api.schemas import ErrorOut, MessageOut, OneOffMessageIn
from inbox.models import Channel, Contact
from inbox.services import visibility
from inbox.services.outbound import OutboundBlocked, queue_one_off

router = APIRouter(
    prefix="/api/v1/messages",
    tags=["messages"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorOut, "description": "Missing, invalid or revoked API key"}},
)


@router.post(
    "",
    response_model=MessageOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={409: {"model": ErrorOut, "description": "Sending is blocked (opt-out …)"}},
)
async def send_one_off(
    payload: OneOffMessageIn, session: SessionDep, commit: CommitDep, scope: ApiScope
) -> MessageOut:
    """Queue an SMS to one of a contact's numbers, outside any conversation. 202: accepted."""

    def queue() -> MessageOut:
        contact = session.get(Contact, payload.contact_id)
        if contact is None or not visibility.can_see_contact(session, scope, contact.id):
            raise field_error("contact_id", f"no contact with id {payload.contact_id}")
        channel = session.get(Channel, payload.channel_id)
        if channel is None or not scope.sees_inbox(channel.default_inbox_id):
            raise field_error("channel_id", f"no channel with id {payload.channel_id}")
        if payload.number not in {n.number for n in contact.numbers}:
            raise field_error(
                "number", f"{payload.number} is not one of contact {contact.id}'s numbers"
            )
        try:
            message = queue_one_off(
                session, contact=contact, number=payload.number, channel=channel, body=payload.body
            )
        except OutboundBlocked as exc:
            raise Refused.send(exc) from exc
        commit()
        return MessageOut.model_validate(message)

    return await run_in_threadpool(queue)
