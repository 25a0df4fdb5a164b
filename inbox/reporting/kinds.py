"""The kinds of event the reporting table holds (``report_facts.kind``)."""

from __future__ import annotations

from enum import StrEnum


class FactKind(StrEnum):
    OPENED = "opened"
    CLOSED = "closed"
    REOPENED = "reopened"
    MESSAGE_IN = "message_in"
    MESSAGE_OUT = "message_out"
    FIRST_RESPONSE = "first_response"
    REPLY = "reply"
    # An SLA target (first_response, next_response, resolution) that ended: met in time, or
    # breached. Key "<target>:<when its clock started, ISO>"; seconds: how long it ran.
    SLA_MET = "sla_met"
    SLA_BREACHED = "sla_breached"
