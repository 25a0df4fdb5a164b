"""Request and response bodies of the JSON API (pydantic), kept apart from the ORM models.

Phone numbers in requests are normalised to E.164 here, so a bad number is a 422 naming its
field before any route code runs; ids are bounded to what the database holds
(:data:`inbox.limits.DbId`) and texts to their columns, so no value reaches the database that
it would refuse with a 5xx.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from inbox.limits import DbId
from inbox.models import Conversation, ConversationStatus
from inbox.phone import normalize_number
from inbox.services.outbound import MAX_BODY_CHARS

# Twilio's limit for one message body (it splits it into segments itself).


# InvalidNumber is a ValueError, so pydantic reports it (422) against the field it came from.
E164 = Annotated[str, AfterValidator(normalize_number)]


class ErrorOut(BaseModel):
    """The body of a 401, 404 or 409 answer; a refused send also says why in ``code``
    (``opted_out`` …)."""

    detail: str
    code: str | None = None


class ConversationOut(BaseModel):
    """A conversation as lists show it, with the clocks its workflow recorded."""

    id: int
    status: ConversationStatus
    contact_id: int
    contact_name: str
    contact_number: str
    channel_id: int
    inbox_id: int
    assignee_id: int | None
    tags: list[str]
    created_at: datetime
    last_message_at: datetime
    last_message_preview: str
    first_inbound_at: datetime | None
    first_response_at: datetime | None
    last_inbound_at: datetime | None
    last_outbound_at: datetime | None
    last_response_at: datetime | None = Field(
        description="The last reply a person sent (auto-replies do not count)."
    )
    closed_at: datetime | None
    time_to_first_response_seconds: int | None
    time_to_close_seconds: int | None
    snoozed_until: datetime | None = Field(
        default=None,
        description="Snoozed until then; 9999-12-31T00:00:00Z means until the contact replies.",
    )
    sla_target: str | None = Field(
        default=None,
        description="The SLA target of the running deadline due first: first_response, "
        "next_response or resolution (null: none runs).",
    )
    sla_at_risk_at: datetime | None = Field(
        default=None, description="When that deadline is at risk (80 % of its target)."
    )
    sla_due_at: datetime | None = Field(
        default=None, description="When that deadline is breached; past: overdue."
    )

    @classmethod
    def from_row(cls, row: Conversation) -> ConversationOut:
        """Build from a row (loads its contact for the name)."""
        return cls(
            id=row.id,
            status=ConversationStatus(row.status),
            contact_id=row.contact_id,
            contact_name=row.contact.name,
            contact_number=row.contact_number,
            channel_id=row.channel_id,
            inbox_id=row.inbox_id,
            assignee_id=row.assignee_id,
            tags=list(row.tags or []),
            created_at=row.created_at,
            last_message_at=row.last_message_at,
            last_message_preview=row.last_message_preview,
            first_inbound_at=row.first_inbound_at,
            first_response_at=row.first_response_at,
            last_inbound_at=row.last_inbound_at,
            last_outbound_at=row.last_outbound_at,
            snoozed_until=row.snoozed_until,
            sla_target=row.sla_target,
            sla_at_risk_at=row.sla_at_risk_at,
            sla_due_at=row.sla_due_at,
            last_response_at=row.last_response_at,
            closed_at=row.closed_at,
            time_to_first_response_seconds=row.time_to_first_response_seconds,
            time_to_close_seconds=row.time_to_close_seconds,
        )


class ConversationPage(BaseModel):
    """One page of conversations, newest message first."""

    items: list[ConversationOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: int | None
    contact_id: int
    channel_id: int
    direction: str
    body: str
    media: list[dict[str, Any]]
    from_number: str
    to_number: str
    author_id: int | None
    automated: bool
    automation: str | None
    status: str
    error_code: str | None
    error_message: str | None
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    held_until: datetime | None = Field(
        default=None, description="Status held: when it goes (quiet hours, or sent later)."
    )


class ContactEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    contact_id: int
    conversation_id: int | None
    kind: str
    summary: str
    data: dict[str, Any]
    author_id: int | None
    automation: str | None
    occurred_at: datetime
    created_at: datetime


class TimelineItem(BaseModel):
    """A message or an event; exactly one of the two is set, as ``type`` says."""

    type: Literal["message", "event"]
    at: datetime
    message: MessageOut | None = None
    event: ContactEventOut | None = None


class ConversationDetail(ConversationOut):
    timeline: list[TimelineItem] = Field(description="Messages and events, oldest first.")


class StartConversationIn(BaseModel):
    channel_id: DbId
    contact_id: DbId
    number: E164 = Field(description="One of the contact's numbers (any common format).")


class MediaIn(BaseModel):
    url: AnyHttpUrl
    content_type: str | None = Field(default=None, max_length=100)


class SendMessageIn(BaseModel):
    media: list[MediaIn] = Field(default_factory=list, max_length=10)
    body: str = Field(default="", max_length=MAX_BODY_CHARS, validate_default=True)
    automated: bool = Field(
        default=False,
        description="True for messages an integration sends on its own; they do not stop the "
        "time-to-first-response clock.",
    )
    send_at: datetime | None = Field(
        default=None,
        description="Send later: the message is stored scheduled (status held) and goes then, "
        "after consent and quiet hours are checked again; without a zone it is the inbox's time. "
        "It shows as scheduled on the conversation's timeline, where an agent may edit or cancel "
        "it until it goes.",
    )

    @field_validator("body")
    @classmethod
    def _body_or_media(cls, value: str, info: ValidationInfo) -> str:
        # A media-only MMS may have an empty body; a message with neither is a mistake.
        if not value.strip() and not info.data.get("media"):
            raise ValueError("a message needs a body or media")
        return value


class SnoozeIn(BaseModel):
    until: str = Field(
        max_length=64,
        description="An ISO 8601 time (with its zone; without one it is the inbox's time), "
        '"tomorrow" (the inbox\'s next opening from tomorrow on) or "reply" (until the contact '
        "writes).",
    )


class AssignIn(BaseModel):
    assignee_id: DbId | None = Field(description="A user id, or null to unassign.")


class MoveIn(BaseModel):
    inbox_id: DbId


class TagIn(BaseModel):
    tag: str = Field(
        max_length=200,
        description="Normalised when stored: trimmed, lower-case, spaces as '-', at most 40 "
        "characters, no commas.",
        examples=["vip"],
    )


class ContactNumberIn(BaseModel):
    number: E164
    label: str = Field(default="mobile", max_length=50)


class ContactIn(BaseModel):
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320)
    timezone: str | None = Field(default=None, max_length=64)
    fields: dict[str, Any] = Field(default_factory=dict)
    numbers: list[ContactNumberIn] = Field(min_length=1, max_length=20)

    @field_validator("numbers", mode="before")
    @classmethod
    def _plain_strings(cls, value: Any) -> Any:
        """Accept ``["+1415...", ...]`` as well as ``[{"number": ..., "label": ...}]``."""
        if isinstance(value, list):
            return [{"number": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("numbers")
    @classmethod
    def _distinct(cls, value: list[ContactNumberIn]) -> list[ContactNumberIn]:
        seen: set[str] = set()
        for item in value:
            if item.number in seen:
                raise ValueError(f"{item.number} is listed twice")
            seen.add(item.number)
        return value


class ContactNumberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    label: str


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str | None
    timezone: str | None
    fields: dict[str, Any]
    opted_out: bool
    numbers: list[ContactNumberOut]
    created_at: datetime


class ContactDetail(ContactOut):
    log: list[ContactEventOut] = Field(description="The contact's events, newest first.")
    conversations: list[ConversationOut] = Field(description="Newest message first.")


class ContactMergeIn(BaseModel):
    other_id: DbId = Field(
        description="The contact (the same person) merged into this one, then deleted."
    )


class ContactEventIn(BaseModel):
    kind: Literal["call", "purchase", "note", "custom"]
    summary: str = Field(default="", max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict)
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When it happened (with a time zone); default now."
    )
    conversation_id: DbId | None = Field(
        default=None,
        description="The conversation whose timeline shows it; default the contact's open "
        "conversation with the newest message (none: only the contact log).",
    )


class OneOffMessageIn(BaseModel):
    contact_id: DbId
    channel_id: DbId
    number: E164 = Field(description="One of the contact's numbers (any common format).")
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)
