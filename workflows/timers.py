"""Durable deadlines inside the conversation workflow (deterministic code only).

Everything in a conversation that waits for a moment (a rule's ``wait``, and every later kind
of deadline: a send held for quiet hours, an SLA target, a snooze, a message sent later) is a
:class:`Timekeeper`: it keeps its own pending deadlines in the workflow's state and fires them.
The workflow's main loop sleeps until the earliest deadline of all of them (a durable timer the
Temporal UI shows as pending) and fires what has fallen due, earliest first, so every kind of
deadline is built once, on one loop, and survives continue-as-new and worker restarts with the
state that carries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from inbox.contracts import ConversationState, PendingEvent


class Timekeeper(Protocol):
    """One kind of deadline of a conversation."""

    def next_deadline(self) -> datetime | None:
        """When the earliest pending deadline falls due (None when none is pending)."""
        ...

    def describe_next(self) -> str:
        """The earliest pending deadline in a few words (only asked while one is pending): the
        summary of the workflow's timer, which the Temporal UI shows beside it."""
        ...

    async def fire_next(self, conversation: ConversationState, now: datetime) -> list[PendingEvent]:
        """Fire the earliest deadline (it is due) and forget it; return what firing it did to
        the conversation, for the workflow to apply."""
        ...


def earliest(timekeepers: Sequence[Timekeeper]) -> tuple[datetime, str] | None:
    """The earliest deadline of all of them, and what it is (``describe_next``)."""
    found = min(
        ((due, index) for index, keeper in enumerate(timekeepers)
         if (due := keeper.next_deadline()) is not None),
        default=None,
    )  # fmt: skip
    return None if found is None else (found[0], timekeepers[found[1]].describe_next())


async def fire_due(
    timekeepers: Sequence[Timekeeper], conversation: ConversationState
) -> list[PendingEvent]:
    """Fire every deadline that has fallen due, earliest first (of whichever kind); return
    what they did to the conversation."""
    caused: list[PendingEvent] = []
    while True:
        now = workflow.now()
        due = [
            (deadline, index)
            for index, keeper in enumerate(timekeepers)
            if (deadline := keeper.next_deadline()) is not None and deadline <= now
        ]
        if not due:
            return caused
        _deadline, index = min(due)
        caused.extend(await timekeepers[index].fire_next(conversation, now))
