"""The lists' "Awaits reply" mark: an open conversation whose contact wrote after the last reply
a person sent; an auto-reply does not answer them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inbox.models import ConversationStatus, Role
from web.queries import ListQuery, View, list_conversations

T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_awaits_reply_until_a_person_answers(factory, session) -> None:
    admin = factory.user(role=Role.ADMIN)
    waiting = factory.conversation(last_inbound_at=T, last_outbound_at=T + timedelta(minutes=1))
    answered = factory.conversation(last_inbound_at=T, last_response_at=T + timedelta(minutes=5))
    wrote_again = factory.conversation(
        last_inbound_at=T + timedelta(minutes=9), last_response_at=T + timedelta(minutes=5)
    )
    closed = factory.conversation(last_inbound_at=T, status=ConversationStatus.CLOSED)
    ours_first = factory.conversation(last_response_at=T)
    marks = {
        row.id: row.awaiting_reply
        for view in (View.ALL_OPEN, View.CLOSED)
        for row in list_conversations(session, admin, ListQuery(view=view))
    }
    assert marks[waiting.id] is True  # only an auto-reply went out (last_outbound_at)
    assert marks[answered.id] is False
    assert marks[wrote_again.id] is True
    assert marks[closed.id] is False
    assert marks[ours_first.id] is False
