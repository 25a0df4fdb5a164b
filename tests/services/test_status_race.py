"""A delivery report that races the send storing the provider id is applied, not lost.

Twilio can call back before the send activity has committed the SID its REST call returned.
Seen in the production drill (bench/drill.py): under PostgreSQL's READ COMMITTED the callback
found no message with the SID and kept an early report, while the send, not seeing that
uncommitted report, stored the SID; both committed and the message stayed "sent" for good.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import func, select, text

from inbox.models import EarlyStatusReport, Message, MessageStatus
from inbox.services.outbound import (
    advance_status,
    apply_status_update,
    queue_message,
    store_provider_id,
)
from tests.databases import BACKEND
from tests.polling import eventually

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="a race between concurrent READ COMMITTED transactions; SQLite has one writer",
)


async def test_a_callback_racing_the_send_is_applied(factory, session, sessions, engine):
    message = queue_message(session, conversation=factory.conversation(), body="hi")
    session.commit()
    message_id = message.id

    def callback() -> None:
        with sessions() as other:
            apply_status_update(
                other, provider="twilio", provider_message_id="SMrace", status="delivered"
            )
            other.commit()

    def settled(thread: threading.Thread) -> bool:
        """The callback either finished or waits for the send's transaction."""
        with engine.connect() as conn:
            waiting = conn.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
            )
        return not thread.is_alive() or bool(waiting)

    with sessions() as sender:
        # The send's transaction: the SID is written but not yet committed ...
        sending = sender.get(Message, message_id)
        assert sending is not None
        advance_status(sending, MessageStatus.SENT)
        store_provider_id(sender, sending, "twilio", "SMrace")
        sender.flush()
        # ... when the status callback comes.
        thread = threading.Thread(target=callback)
        thread.start()
        await eventually(lambda: settled(thread), what="the callback ran or waits")
        sender.commit()
    await asyncio.to_thread(thread.join, 15)
    assert not thread.is_alive()

    session.expire_all()
    stored = session.get(Message, message_id)
    assert stored is not None and stored.status == MessageStatus.DELIVERED
    assert session.scalar(select(func.count()).select_from(EarlyStatusReport)) == 0
