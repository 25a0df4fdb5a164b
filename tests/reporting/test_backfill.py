"""The migration that adds the reporting table fills it from what was stored before it:
openings, first responses and current closes from the conversations' clocks, and messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from inbox import migrations
from inbox.db import make_engine
from inbox.models import Direction, Message, MessageStatus
from tests.databases import fresh_database
from tests.factories import Factory

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database(tmp_path) as url:
        yield url


def test_the_migration_fills_the_table_from_the_stored_conversations(fresh_url: str) -> None:
    # Rows written through today's models, then the schema taken back to just before the
    # table (later migrations add columns the models write), then the real upgrade.
    migrations.upgrade(fresh_url)
    engine = make_engine(fresh_url)
    try:
        with Session(engine) as session:
            factory = Factory(session)
            convo = factory.conversation(
                created_at=T0, first_inbound_at=T0, first_response_at=T0 + timedelta(minutes=3),
                time_to_first_response_seconds=180, closed_at=T0 + timedelta(hours=2),
                time_to_close_seconds=7200,
            )  # fmt: skip
            for direction, status in [(Direction.INBOUND, MessageStatus.RECEIVED),
                                      (Direction.OUTBOUND, MessageStatus.DELIVERED),
                                      (Direction.OUTBOUND, MessageStatus.CANCELLED)]:  # fmt: skip
                session.add(Message(
                    conversation_id=convo.id, contact_id=convo.contact_id,
                    channel_id=convo.channel_id, direction=direction, body="x", media=[],
                    from_number="+1", to_number="+2", provider="simulator", status=status,
                    created_at=T0,
                ))  # fmt: skip
            session.commit()
            convo_id = convo.id
        engine.dispose()
        migrations.downgrade(fresh_url, "0015_reports-1")
        migrations.upgrade(fresh_url)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT kind, seconds FROM report_facts WHERE conversation_id = :c"
                     " ORDER BY kind"), {"c": convo_id}
            ).all()  # fmt: skip
            # The daily roll-up's migration (0019_report_days) summed the filled facts.
            day = conn.execute(text(
                "SELECT opened, closed, messages_in, messages_out, first_response, close"
                " FROM report_days")).all()  # fmt: skip
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("closed", 7200), ("first_response", 180), ("message_in", None),
        ("message_out", None), ("opened", None),
    ]  # fmt: skip
    assert [tuple(row) for row in day] == [(1, 1, 1, 1, "000000b4", "00001c20")]  # 180, 7200 s
