"""What storing any message in a conversation implies, inbound or outbound: the row, the
conversation's last-message fields, the workflow's signal and the live pages' event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from inbox import live
from inbox.contracts import (
    SIGNAL_MESSAGE_HELD,
    SIGNAL_MESSAGE_RECEIVED,
    SIGNAL_MESSAGE_SENT,
    ConversationEvent,
)
from inbox.models import Conversation, Direction, Message
from inbox.relay import enqueue_conversation_signal
from inbox.reporting.facts import record_message
from inbox.services.conversations import started_state

# The list views' preview column holds this many characters.
PREVIEW_CHARS = 200


def preview(body: str, media: list[dict[str, Any]] | None = None) -> str:
    """The one-line preview lists show for a message."""
    text = " ".join(body.split())
    if not text and media:
        return "[media]"
    return text[:PREVIEW_CHARS]


def add_to_conversation(
    session: Session,
    *,
    conversation: Conversation,
    message: Message,
    signal: str | None,
    live_data: dict[str, Any] | None = None,
    **event_fields: Any,
) -> Message:
    """Store ``message`` in ``conversation`` and announce it.

    ``signal`` names the workflow signal (None: the workflow is not told, as for hidden spam);
    its ``ConversationEvent`` gets the message's key, time, id, body, the conversation's inbox
    and assignee, and ``event_fields``. ``live_data`` is added to the live event.
    """
    session.add(message)
    session.flush()
    conversation.last_message_at = message.created_at
    # Lists show what the contact last said (not our own replies), or our first message to
    # them while they have not written yet.
    if message.direction == Direction.INBOUND or not _has_inbound(session, conversation):
        conversation.last_message_preview = preview(message.body, message.media)
    # Reports count what the workflow is told of: not hidden spam, nor a held message (until
    # its hold ends and it is queued, activities/store.py).
    if signal in (SIGNAL_MESSAGE_RECEIVED, SIGNAL_MESSAGE_SENT):
        record_message(session, conversation, message)
    if signal is not None:
        enqueue_conversation_signal(
            session,
            conversation.id,
            signal,
            ConversationEvent(
                # A held message's own ``msg-`` event comes when its hold ends.
                key=f"{'held' if signal == SIGNAL_MESSAGE_HELD else 'msg'}-{message.id}",
                at=message.created_at,
                message_id=message.id,
                inbox_id=conversation.inbox_id,
                assignee_id=conversation.assignee_id,
                body=message.body,
                **event_fields,
            ),
            state=started_state(session, conversation),
        )
    live.publish(
        session,
        live.MESSAGE_CREATED,
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        data={"message_id": message.id, "direction": message.direction, **(live_data or {})},
    )
    return message


def _has_inbound(session: Session, conversation: Conversation) -> bool:
    if conversation.last_inbound_at is not None:
        return True
    return bool(
        session.scalar(
            select(
                exists().where(
                    Message.conversation_id == conversation.id,
                    Message.direction == Direction.INBOUND,
                )
            )
        )
    )
