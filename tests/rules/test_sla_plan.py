"""The pure SLA planner (``inbox/sla.py``): which deadlines run for which clocks, when each is
due, and which ended met. Times worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inbox import sla
from inbox.contracts import BusinessHours, Clocks, SlaPolicy, SlaStage, SlaTarget

T0 = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # a Monday, 09:00 in New York
POLICY = SlaPolicy(first_response_minutes=15, next_response_minutes=30, resolution_minutes=600)


def _minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def test_the_first_message_starts_first_response_and_resolution() -> None:
    clocks = Clocks(first_inbound_at=T0, last_inbound_at=T0)
    running, ended = sla.plan(clocks, [], POLICY, T0)
    assert ended == []
    assert [(d.target, d.at_risk_at, d.due_at) for d in running] == [
        (SlaTarget.FIRST_RESPONSE, _minutes(12), _minutes(15)),
        (SlaTarget.RESOLUTION, _minutes(480), _minutes(600)),
    ]
    assert sla.soonest(running) == running[0]


def test_a_reply_meets_first_response_and_a_new_message_starts_next_response() -> None:
    clocks = Clocks(first_inbound_at=T0, last_inbound_at=T0)
    running, _ = sla.plan(clocks, [], POLICY, T0)
    replied = Clocks(first_inbound_at=T0, last_inbound_at=T0, first_response_at=_minutes(10),
                     last_response_at=_minutes(10))  # fmt: skip
    running, ended = sla.plan(replied, running, POLICY, _minutes(10))
    assert [(e.deadline.target, e.met) for e in ended] == [(SlaTarget.FIRST_RESPONSE, True)]
    assert [d.target for d in running] == [SlaTarget.RESOLUTION]
    # The contact writes at +20 and again at +25: the next-response clock runs from +20.
    wrote = Clocks(first_inbound_at=T0, last_inbound_at=_minutes(20),
                   first_response_at=_minutes(10), last_response_at=_minutes(10))  # fmt: skip
    running, _ = sla.plan(wrote, running, POLICY, _minutes(20))
    again = Clocks(**{**wrote.__dict__, "last_inbound_at": _minutes(25)})
    running, ended = sla.plan(again, running, POLICY, _minutes(25))
    assert ended == []
    nxt = next(d for d in running if d.target == SlaTarget.NEXT_RESPONSE)
    assert nxt.due_at == _minutes(50)


def test_a_breached_deadline_ends_unmet_and_closing_meets_resolution() -> None:
    clocks = Clocks(first_inbound_at=T0, last_inbound_at=T0)
    running, _ = sla.plan(clocks, [], POLICY, T0)
    running[0].stage = SlaStage.BREACHED
    late = Clocks(first_inbound_at=T0, last_inbound_at=T0, first_response_at=_minutes(40),
                  last_response_at=_minutes(40))  # fmt: skip
    running, ended = sla.plan(late, running, POLICY, _minutes(40))
    assert [(e.deadline.target, e.met) for e in ended] == [(SlaTarget.FIRST_RESPONSE, False)]
    closed = Clocks(**{**late.__dict__, "closed_at": _minutes(60), "time_to_close_seconds": 3600})
    running, ended = sla.plan(closed, running, POLICY, _minutes(60))
    assert running == []
    assert [(e.deadline.target, e.met) for e in ended] == [(SlaTarget.RESOLUTION, True)]


def test_spam_ends_deadlines_unmet_and_no_policy_starts_none() -> None:
    clocks = Clocks(first_inbound_at=T0, last_inbound_at=T0)
    running, _ = sla.plan(clocks, [], POLICY, T0)
    spam = Clocks(first_inbound_at=T0, last_inbound_at=T0, closed_at=_minutes(1))
    running, ended = sla.plan(spam, running, POLICY, _minutes(1))
    assert running == [] and [e.met for e in ended] == [False, False]
    assert sla.plan(clocks, [], None, T0) == ([], [])
    # An outbound-first conversation has no deadline until the contact writes.
    assert sla.plan(Clocks(last_outbound_at=T0), [], POLICY, T0) == ([], [])


def test_business_hours_count_only_open_time() -> None:
    hours = BusinessHours({d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
                          "America/New_York")  # fmt: skip
    policy = SlaPolicy(first_response_minutes=60, business_hours=True, hours=hours)
    friday_1630 = datetime(2026, 12, 4, 21, 30, tzinfo=UTC)
    [deadline] = sla.plan(Clocks(first_inbound_at=friday_1630, last_inbound_at=friday_1630),
                          [], policy, friday_1630)[0]  # fmt: skip
    # 30 min on Friday, 18 on Monday from 9:00 (80 %), 30 on Monday (100 %).
    assert deadline.at_risk_at == datetime(2026, 12, 7, 14, 18, tzinfo=UTC)
    assert deadline.due_at == datetime(2026, 12, 7, 14, 30, tzinfo=UTC)
