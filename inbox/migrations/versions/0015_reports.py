"""The reporting table (report_facts), filled from what is stored already.

Revision ID: 0015_reports
Revises: 0013_snooze
Create Date: 2026-12-01 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015_reports"
down_revision: str | Sequence[str] | None = "0013_snooze"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "conversation_id, kind, event_key, at, inbox_id, assignee_id, channel_id, seconds"

# Past events, once: the conversations' clocks (openings, first responses, the current close)
# and their messages. Reply times need each reply's wait, which the clocks do not keep: they
# start with the replies sent after this migration (docs/reports.md).
_BACKFILL = (
    f"INSERT INTO report_facts ({_COLUMNS}) SELECT id, 'opened', 'opened', created_at,"
    " inbox_id, assignee_id, channel_id, NULL FROM conversations",
    f"INSERT INTO report_facts ({_COLUMNS}) SELECT id, 'first_response', 'first_response',"
    " first_response_at, inbox_id, assignee_id, channel_id, time_to_first_response_seconds"
    " FROM conversations WHERE first_response_at IS NOT NULL"
    " AND time_to_first_response_seconds IS NOT NULL",
    f"INSERT INTO report_facts ({_COLUMNS}) SELECT id, 'closed', 'backfill', closed_at,"
    " inbox_id, assignee_id, channel_id, time_to_close_seconds FROM conversations"
    " WHERE closed_at IS NOT NULL AND time_to_close_seconds IS NOT NULL",
    f"INSERT INTO report_facts ({_COLUMNS}) SELECT m.conversation_id,"
    " CASE m.direction WHEN 'inbound' THEN 'message_in' ELSE 'message_out' END,"
    " CAST(m.id AS VARCHAR(20)), m.created_at, c.inbox_id, c.assignee_id, c.channel_id, NULL"
    " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
    " WHERE m.direction = 'inbound' OR m.status NOT IN ('held', 'cancelled', 'blocked')",
)


def upgrade() -> None:
    op.create_table(
        "report_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("inbox_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("seconds", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_report_facts_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_facts")),
        sa.UniqueConstraint(
            "conversation_id",
            "kind",
            "event_key",
            name=op.f("uq_report_facts_conversation_id_kind_event_key"),
        ),
    )
    op.create_index("ix_report_facts_at", "report_facts", ["at", "kind"])
    for statement in _BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_report_facts_at", table_name="report_facts")
    op.drop_table("report_facts")
