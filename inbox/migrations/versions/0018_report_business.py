"""Business-hours seconds on the reporting table (report_facts.business_seconds), filled for
the facts stored before it with their inbox's hours as they are now.

Revision ID: 0018_report_business
Revises: 0017_sla (after the SLA columns, which landed first)
Create Date: 2026-12-02 01:30:00
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from inbox.models.base import JSONType, UTCDateTime
from inbox.rules.hours import open_seconds_between

# revision identifiers, used by Alembic.
revision: str = "0018_report_business"
down_revision: str | Sequence[str] | None = "0017_sla"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_inboxes = sa.table(
    "inboxes",
    sa.column("id", sa.Integer()),
    sa.column("business_hours", JSONType),
    sa.column("timezone", sa.String()),
    sa.column("holidays", JSONType),
)
_facts = sa.table(
    "report_facts",
    sa.column("id", sa.Integer()),
    sa.column("at", UTCDateTime()),
    sa.column("inbox_id", sa.Integer()),
    sa.column("seconds", sa.Integer()),
    sa.column("business_seconds", sa.Integer()),
)
_BATCH = 1000


def upgrade() -> None:
    op.add_column("report_facts", sa.Column("business_seconds", sa.Integer(), nullable=True))
    bind = op.get_bind()
    timed = _facts.c.seconds.is_not(None)
    # An inbox with hours or holidays: each of its waits counted again in Python (the same
    # helper the fact writer uses); the rest (no hours: every second is open) in one update.
    with_hours = [
        row for row in bind.execute(sa.select(_inboxes)) if row.business_hours or row.holidays
    ]
    for inbox in with_hours:
        schedule, holidays = dict(inbox.business_hours or {}), list(inbox.holidays or [])
        found = bind.execute(
            sa.select(_facts.c.id, _facts.c.at, _facts.c.seconds).where(
                _facts.c.inbox_id == inbox.id, timed
            )
        ).all()
        for start in range(0, len(found), _BATCH):
            values = [
                {"fact": fact_id, "value": open_seconds_between(
                    schedule, inbox.timezone, at - timedelta(seconds=seconds), at, holidays)}
                for fact_id, at, seconds in found[start : start + _BATCH]
            ]  # fmt: skip
            bind.execute(
                _facts.update()
                .where(_facts.c.id == sa.bindparam("fact"))
                .values(business_seconds=sa.bindparam("value")),
                values,
            )
    # Every wait not counted above (an inbox without hours, or no inbox) is open throughout.
    bind.execute(
        _facts.update()
        .where(timed, _facts.c.business_seconds.is_(None))
        .values(business_seconds=_facts.c.seconds)
    )


def downgrade() -> None:
    with op.batch_alter_table("report_facts") as batch:
        batch.drop_column("business_seconds")
