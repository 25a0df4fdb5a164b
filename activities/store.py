"""Activities that read and write a conversation's row for its workflow.

The workflow owns the clocks (it computes them from event times); the database is where the
views read them. Each activity uses one session and commits once.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from inbox import live
from inbox.contracts import (
    ACTIVITY_LOAD_STATE,
    ACTIVITY_RECORD_CLOCKS,
    ConversationState,
    LoadStateInput,
    RecordClocksInput,
)
from inbox.models import Conversation, Message
from inbox.rules.snapshot import last_direction, message_counts
from inbox.services.conversations import row_state


def _conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        # Retrying cannot make a deleted (or never stored) conversation appear.
        raise ApplicationError(
            f"conversation {conversation_id} does not exist",
            type="ConversationNotFound",
            non_retryable=True,
        )
    return conversation


# More unapplied messages than this means the workflow was gone for long; the rest were
# signalled long ago and will not come again.
_UNAPPLIED_LIMIT = 500


def _not_yet_applied(session: Session, conversation: Conversation) -> list[int]:
    """Ids of stored messages newer than every clock the workflow recorded: their events have
    not been applied yet (the signal that starts the workflow is one), and are counted already."""
    recorded = [at for at in (conversation.last_inbound_at, conversation.last_outbound_at) if at]
    query = select(Message.id).where(Message.conversation_id == conversation.id)
    if recorded:
        query = query.where(Message.created_at > max(recorded))
    return sorted(session.scalars(query.order_by(Message.id.desc()).limit(_UNAPPLIED_LIMIT)))


class StoreActivities:
    """The store activities, bound to a session factory (register the bound methods)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @activity.defn(name=ACTIVITY_LOAD_STATE)
    def load_conversation_state(self, request: LoadStateInput) -> ConversationState:
        """The stored conversation as workflow state: a (re)started workflow begins from it."""
        with self._sessions() as session:
            conversation = _conversation(session, request.conversation_id)
            counts = message_counts(session, conversation.id)
            return dataclasses.replace(
                row_state(conversation),
                last_direction=last_direction(session, conversation.id),
                messages_received=counts.get("inbound", 0),
                messages_sent=counts.get("outbound", 0),
                counted_message_ids=_not_yet_applied(session, conversation),
            )

    @activity.defn(name=ACTIVITY_RECORD_CLOCKS)
    def record_conversation_clocks(self, request: RecordClocksInput) -> None:
        """Write the workflow's clocks to the conversation row and tell live pages."""
        commit_clocks(self._sessions, request.state)


def commit_clocks(sessions: sessionmaker[Session], state: ConversationState) -> None:
    """:func:`write_clocks` in a transaction of its own."""
    with sessions() as session:
        write_clocks(session, state)
        session.commit()


def write_clocks(session: Session, state: ConversationState) -> Conversation:
    """Copy the workflow's clocks to the conversation row and publish the change (no commit).

    Status, inbox and assignee are not written: the services that change them write the row
    themselves, and a late write from here must not undo a newer change.
    """
    conversation = _conversation(session, state.conversation_id)
    conversation.first_inbound_at = state.first_inbound_at
    conversation.first_response_at = state.first_response_at
    conversation.last_inbound_at = state.last_inbound_at
    conversation.last_outbound_at = state.last_outbound_at
    conversation.closed_at = state.closed_at
    conversation.time_to_first_response_seconds = state.time_to_first_response_seconds
    conversation.time_to_close_seconds = state.time_to_close_seconds
    live.publish(
        session,
        live.CONVERSATION_UPDATED,
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        data={
            "time_to_first_response_seconds": state.time_to_first_response_seconds,
            "time_to_close_seconds": state.time_to_close_seconds,
        },
    )
    return conversation
