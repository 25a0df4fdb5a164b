"""The actions rules can take, one registry entry per kind: its parameters (a pydantic model
that checks its own values, as Home Assistant's platforms validate their own config), which
parameters are templates, and how it is executed.

A parameter model refuses a value that can never work (an assignee that is neither a mode nor
an e-mail) and, when the validation context holds the names that exist (``inboxes``, ``users``:
``inbox rules check`` passes them), one that names nothing; ``validate.py`` only words the
errors. Executors run inside the ``automation_run_rule`` activity, in one database transaction
with the idempotency record; they return a short description of what they did, or raise
:class:`ActionSkipped` with the reason it was not possible (no assignee, contact opted out …) or
:class:`ActionFailed` when it cannot be done at all. Adding an action is one :func:`_action`
call here (and a section in docs/automation.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox import live, metrics
from inbox.consent import quiet_hours
from inbox.contracts import as_utc
from inbox.models import Conversation, EventKind, Inbox, RoundRobinCursor, User
from inbox.rules import templates
from inbox.rules.suggest import did_you_mean
from inbox.services import consent, conversations, notifications
from inbox.services import tags as tag_service
from inbox.services.admin import blocklist
from inbox.services.outbound import OutboundBlocked, queue_message


class ActionSkipped(Exception):
    """The action is not possible now; the reason is recorded and it is not retried."""


class ActionFailed(Exception):
    """The action cannot be done at all (a template the sandbox refuses, bad parameters); it is
    recorded as failed with the reason and not retried."""


@dataclass
class ActionContext:
    """Everything an executor may use. ``facts`` are fresh (read in this transaction, on first
    use: most actions never need them, and reading them is several queries)."""

    session: Session
    conversation: Conversation
    rule: str
    key: str
    now: datetime
    # Reads the facts: all (None), or only those named (a template's merge fields).
    load_facts: Callable[[Collection[str] | None], dict[str, Any]]
    secret_key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def facts(self) -> dict[str, Any]:
        return self.load_facts(None)

    def render(self, source: str) -> str:
        """Render a template of this rule against the conversation as it is now (reading only
        the facts its merge fields name, unless all were read already)."""
        used = templates.fields_used(source)
        facts = self.facts if used is None or "facts" in self.__dict__ else self.load_facts(used)
        context = templates.context_from_facts(facts, {"rule.name": self.rule, **self.extra})
        try:
            return templates.render(source, context)
        except templates.TemplateProblem as exc:
            raise ActionFailed(str(exc)) from exc


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Error types ``validate.py`` words with the rule's name: ``'{value}' is not a valid {what} for
# rule 'x'{hint}`` and ``unknown {what} '{value}' in '{action}.{param}' of rule 'x'{hint}``.
INVALID_TARGET = "invalid_target"
UNKNOWN_NAME = "unknown_name"


def _target(value: str, what: str, modes: tuple[str, ...], usage: str) -> str:
    """``value`` if it is one of ``modes`` or an e-mail, else the error naming it."""
    if value in modes or "@" in value:
        return value
    hint = did_you_mean(value, modes) or f" ({usage})"
    raise PydanticCustomError(
        INVALID_TARGET,
        "'{value}' is not a valid {what}",
        {"value": value, "what": what, "hint": hint},
    )


def _exists(value: str, what: str, names_key: str, info: ValidationInfo) -> str:
    """``value`` if the context does not list the names that exist (``names_key``), or lists
    it."""
    names: set[str] | None = (info.context or {}).get(names_key)
    if names is None or value.lower() in {name.lower() for name in names}:
        return value
    raise PydanticCustomError(
        UNKNOWN_NAME,
        "unknown {what} '{value}'",
        {"value": value, "what": what, "hint": did_you_mean(value, names)},
    )


@dataclass(frozen=True)
class ActionKind:
    """One kind of action."""

    name: str
    params: type[_Params]
    description: str
    example: str
    execute: Callable[[ActionContext, Any], str]
    # The parameter a bare scalar fills (``send_sms: "Hi"`` -> ``{"text": "Hi"}``).
    shorthand: str | None = None
    template_params: tuple[str, ...] = ()
    # It waits on another system (a webhook): the rule runs as a regular activity, beside the
    # provider calls, never on the executor the conversations' database steps share.
    remote: bool = False


ACTIONS: dict[str, ActionKind] = {}


def _action(kind: ActionKind) -> None:
    ACTIONS[kind.name] = kind


def normalize_params(kind: ActionKind, value: Any) -> Any:
    """``None`` means no parameters; a scalar fills the shorthand parameter."""
    if value is None:
        return {}
    if not isinstance(value, dict) and kind.shorthand is not None:
        return {kind.shorthand: value}
    return value


# --- helpers -----------------------------------------------------------------------------------


def _user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.lower()))


def _inbox_by_name(session: Session, name: str) -> Inbox | None:
    return session.scalar(select(Inbox).where(func.lower(Inbox.name) == name.lower()))


def _conversation_changed(ctx: ActionContext) -> None:
    conversation = ctx.conversation
    live.publish(
        ctx.session,
        live.CONVERSATION_UPDATED,
        conversation_id=conversation.id,
        inbox_id=conversation.inbox_id,
        data={"automation": ctx.rule},
    )


def _service_error(exc: Exception) -> ActionSkipped:
    return ActionSkipped(str(exc) or exc.__class__.__name__)


# --- send_sms ----------------------------------------------------------------------------------


class SendSms(_Params):
    text: str = Field(min_length=1, description="Jinja template of the message.")


# An automated answer this soon after the contact's own text is not held for quiet hours: they
# are awake, and waiting for it.
ANSWER_WINDOW = timedelta(minutes=5)


def _send_sms(ctx: ActionContext, params: SendSms) -> str:
    conversation = ctx.conversation
    rules = consent.compliance(ctx.session)
    sent_today = consent.automated_in_last_day(ctx.session, conversation.contact_id, ctx.now)
    if sent_today >= rules.automated_per_day:
        raise ActionSkipped(
            f"frequency cap reached: {sent_today} automated texts to this contact in the last "
            f"24 hours (limit {rules.automated_per_day})"
        )
    body = ctx.render(params.text)
    if not body:
        raise ActionSkipped("the message rendered empty")
    answering = conversation.last_inbound_at is not None and (
        ctx.now - as_utc(conversation.last_inbound_at) <= ANSWER_WINDOW
    )
    hold = (
        None
        if answering
        else quiet_hours.held_until(
            ctx.now,
            conversation.contact_number,
            rules.quiet_hours,
            contact_zone=conversation.contact.timezone,
            inbox_zone=conversation.inbox.timezone,
        )
    )
    try:
        message = queue_message(
            ctx.session,
            conversation=conversation,
            body=body,
            automated=True,
            automation=ctx.rule,
            held_until=hold,
        )
    except OutboundBlocked as exc:
        metrics.SENDS_BLOCKED.labels("queueing", exc.code or "not_sendable").inc()
        raise ActionSkipped(f"not sent: {exc}") from exc
    ctx.session.flush()
    if hold is not None:
        metrics.SENDS_HELD.inc()
        return f"held message {message.id} until {hold.isoformat()} (quiet hours)"
    return f"queued message {message.id}"


_action(
    ActionKind(
        "send_sms",
        SendSms,
        "Send an SMS in the conversation (marked automated; it does not stop the "
        "first-response clock).",
        'send_sms: "Thanks {{ contact.first_name }}, we got your message."',
        _send_sms,
        shorthand="text",
        template_params=("text",),
    )
)


# --- assign ------------------------------------------------------------------------------------

ASSIGN_MODES = ("inbox_default", "round_robin", "nobody")


class Assign(_Params):
    to: str = Field(
        description="A user's e-mail, or inbox_default, round_robin (among the inbox's "
        "members) or nobody."
    )

    @field_validator("to")
    @classmethod
    def _to(cls, value: str, info: ValidationInfo) -> str:
        _target(
            value,
            "assignee",
            ASSIGN_MODES,
            "use a user's e-mail, inbox_default, round_robin or nobody",
        )
        return value if value in ASSIGN_MODES else _exists(value, "user", "users", info)


def _round_robin(ctx: ActionContext) -> int:
    conversation = ctx.conversation
    members = sorted(
        (user.id for user in conversation.inbox.members if user.is_active),
    )
    if not members:
        raise ActionSkipped(f"inbox {conversation.inbox.name!r} has no active members")
    # Lock the cursor row so two conversations assigned at once get different members.
    cursor = ctx.session.get(RoundRobinCursor, conversation.inbox_id, with_for_update=True)
    if cursor is None:
        cursor = RoundRobinCursor(inbox_id=conversation.inbox_id, last_user_id=None)
        ctx.session.add(cursor)
    later = [
        user_id
        for user_id in members
        if cursor.last_user_id is None or user_id > cursor.last_user_id
    ]
    chosen = later[0] if later else members[0]
    cursor.last_user_id = chosen
    return chosen


def _assign(ctx: ActionContext, params: Assign) -> str:
    conversation = ctx.conversation
    user_id: int | None
    if params.to == "nobody":
        user_id = None
    elif params.to == "inbox_default":
        user_id = conversation.inbox.default_assignee_id
        if user_id is None:
            raise ActionSkipped(f"inbox {conversation.inbox.name!r} has no default assignee")
    elif params.to == "round_robin":
        user_id = _round_robin(ctx)
    else:
        user = _user_by_email(ctx.session, params.to)
        if user is None or not user.is_active:
            raise ActionSkipped(f"no active user {params.to!r}")
        user_id = user.id
    if conversation.assignee_id == user_id:
        raise ActionSkipped("already assigned to that user" if user_id else "already unassigned")
    try:
        conversations.assign(
            ctx.session, conversation=conversation, assignee_id=user_id, automation=ctx.rule
        )
    except conversations.ConversationActionError as exc:
        raise _service_error(exc) from exc
    return f"assigned to user {user_id}" if user_id else "unassigned"


_action(
    ActionKind(
        "assign",
        Assign,
        "Assign the conversation: to a user (by e-mail), the inbox's default assignee, the next "
        "inbox member in turn (round_robin), or nobody.",
        "assign: round_robin",
        _assign,
        shorthand="to",
    )
)


# --- move, close, reopen, mark_spam ---------------------------------------------------------


class Move(_Params):
    inbox: str = Field(description="Name of the inbox to move the conversation to.")

    @field_validator("inbox")
    @classmethod
    def _inbox(cls, value: str, info: ValidationInfo) -> str:
        return _exists(value, "inbox", "inboxes", info)


def _move(ctx: ActionContext, params: Move) -> str:
    target = _inbox_by_name(ctx.session, params.inbox)
    if target is None:
        raise ActionSkipped(f"no inbox named {params.inbox!r}")
    if ctx.conversation.inbox_id == target.id:
        raise ActionSkipped(f"already in {target.name!r}")
    try:
        conversations.move(
            ctx.session, conversation=ctx.conversation, inbox_id=target.id, automation=ctx.rule
        )
    except conversations.ConversationActionError as exc:
        raise _service_error(exc) from exc
    return f"moved to {target.name!r}"


_action(
    ActionKind(
        "move",
        Move,
        "Move the conversation to another inbox (by name).",
        "move: Sales",
        _move,
        shorthand="inbox",
    )
)


class NoParams(_Params):
    pass


def _status_action(
    service: Callable[..., object], done: str
) -> Callable[[ActionContext, NoParams], str]:
    def execute(ctx: ActionContext, _params: NoParams) -> str:
        try:
            service(ctx.session, conversation=ctx.conversation, automation=ctx.rule)
        except conversations.ConversationActionError as exc:
            raise _service_error(exc) from exc
        return done

    return execute


for _name, _service, _done, _text in (
    ("close", conversations.close, "closed", "Close the conversation."),
    ("reopen", conversations.reopen, "reopened", "Reopen a closed conversation."),
    (
        "mark_spam",
        # Blocklists the sender too, as marking spam in the inbox does.
        blocklist.mark_spam,
        "marked as spam",
        "Mark as spam: blocklists the contact and moves all their conversations to spam.",
    ),
):
    _action(ActionKind(_name, NoParams, _text, f"{_name}: {{}}", _status_action(_service, _done)))


# --- notify ------------------------------------------------------------------------------------

NOTIFY_TARGETS = ("assignee", "assignee.manager", "inbox.managers")


class Notify(_Params):
    to: str = Field(
        default="assignee",
        description="assignee, assignee.manager, inbox.managers (the managers of the "
        "conversation's inbox), or a user's e-mail.",
    )
    text: str = Field(min_length=1, description="Jinja template of the notification.")

    @field_validator("to")
    @classmethod
    def _to(cls, value: str, info: ValidationInfo) -> str:
        _target(
            value,
            "recipient",
            NOTIFY_TARGETS,
            "use assignee, assignee.manager, inbox.managers or a user's e-mail",
        )
        return value if value in NOTIFY_TARGETS else _exists(value, "user", "users", info)


def _recipients(ctx: ActionContext, to: str) -> list[User]:
    conversation = ctx.conversation
    if to == "inbox.managers":
        return notifications.inbox_managers(ctx.session, conversation.inbox)
    if to in ("assignee", "assignee.manager"):
        if conversation.assignee is None:
            raise ActionSkipped("the conversation has no assignee")
        if to == "assignee":
            return [conversation.assignee]
        if conversation.assignee.manager is None:
            raise ActionSkipped(f"assignee {conversation.assignee.email} has no manager")
        return [conversation.assignee.manager]
    recipient = _user_by_email(ctx.session, to)
    if recipient is None:
        raise ActionSkipped(f"no user {to!r}")
    return [recipient]


def _notify(ctx: ActionContext, params: Notify) -> str:
    recipients = _recipients(ctx, params.to)
    text = ctx.render(params.text)
    for recipient in recipients:
        notifications.notify(
            ctx.session,
            user=recipient,
            text=text,
            conversation=ctx.conversation,
            automation=ctx.rule,
        )
    return "notified " + ", ".join(recipient.email for recipient in recipients)


_action(
    ActionKind(
        "notify",
        Notify,
        "Notify a user in the app: the assignee, the assignee's manager, or a user by e-mail.",
        'notify: {to: assignee.manager, text: "{{ contact.name }} waits for a reply."}',
        _notify,
        shorthand="text",
        template_params=("text",),
    )
)


# --- add_note, tags, fields ---------------------------------------------------------------------


class AddNote(_Params):
    text: str = Field(min_length=1, description="Jinja template of the note.")


def _add_note(ctx: ActionContext, params: AddNote) -> str:
    text = ctx.render(params.text)
    conversations.add_contact_event(
        ctx.session,
        contact=ctx.conversation.contact,
        kind=EventKind.NOTE,
        summary=text,
        conversation=ctx.conversation,
        automation=ctx.rule,
        occurred_at=ctx.now,
    )
    return "note added"


_action(
    ActionKind(
        "add_note",
        AddNote,
        "Add a note to the conversation's timeline and the contact's log.",
        'add_note: "Asked about pricing: {{ message.body }}"',
        _add_note,
        shorthand="text",
        template_params=("text",),
    )
)


class Tag(_Params):
    tag: str = Field(min_length=1, max_length=200, description="The tag.")

    @field_validator("tag")
    @classmethod
    def _normalised(cls, value: str) -> str:
        # The spelling a tag added by hand gets (``inbox.services.tags``), so the tag filter
        # and the header find a rule's tags; a malformed one is reported when the map loads.
        return tag_service.normalise(value)


def _add_tag(ctx: ActionContext, params: Tag) -> str:
    tags = list(ctx.conversation.tags or [])
    if params.tag in tags:
        raise ActionSkipped(f"already tagged {params.tag!r}")
    ctx.conversation.tags = [*tags, params.tag]
    _conversation_changed(ctx)
    return f"tagged {params.tag!r}"


def _remove_tag(ctx: ActionContext, params: Tag) -> str:
    tags = list(ctx.conversation.tags or [])
    if params.tag not in tags:
        raise ActionSkipped(f"not tagged {params.tag!r}")
    ctx.conversation.tags = [tag for tag in tags if tag != params.tag]
    _conversation_changed(ctx)
    return f"removed tag {params.tag!r}"


_action(ActionKind("add_tag", Tag, "Tag the conversation.", "add_tag: vip", _add_tag, "tag"))
_action(
    ActionKind(
        "remove_tag", Tag, "Remove a tag.", "remove_tag: follow-up", _remove_tag, shorthand="tag"
    )
)


class SetField(_Params):
    field: str = Field(
        pattern=r"^(contact|conversation)\.fields\.[A-Za-z0-9_]+$",
        description="contact.fields.<name> or conversation.fields.<name>.",
    )
    value: str | int | float | bool | None = Field(
        description="The value; a string is a Jinja template."
    )


def _set_field(ctx: ActionContext, params: SetField) -> str:
    owner_name, _, name = params.field.split(".", 2)
    value = ctx.render(params.value) if isinstance(params.value, str) else params.value
    owner = ctx.conversation.contact if owner_name == "contact" else ctx.conversation
    owner.fields = {**(owner.fields or {}), name: value}
    _conversation_changed(ctx)
    return f"set {params.field} to {value!r}"


_action(
    ActionKind(
        "set_field",
        SetField,
        "Set a custom field of the contact or the conversation.",
        "set_field: {field: contact.fields.lead_source, value: sms}",
        _set_field,
        template_params=("value",),
    )
)


# --- webhook -----------------------------------------------------------------------------------

SIGNATURE_HEADER = "X-Inbox-Signature"


class Webhook(_Params):
    url: str = Field(pattern=r"^https?://", description="Where to POST the JSON.")
    secret_env: str | None = Field(
        default=None,
        description="Environment variable holding the HMAC secret (default: INBOX_SECRET_KEY).",
    )
    data: dict[str, Any] = Field(
        default_factory=dict, description="Extra JSON fields; string values are templates."
    )
    timeout: float = Field(default=10.0, gt=0, le=60, description="Seconds before giving up.")


def sign(secret: str, body: bytes) -> str:
    """The signature header value: ``sha256=<hex HMAC-SHA256 of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _webhook(ctx: ActionContext, params: Webhook) -> str:
    payload = {
        "rule": ctx.rule,
        "key": ctx.key,
        "at": ctx.now.isoformat(),
        "conversation": {
            "id": ctx.conversation.id,
            "status": ctx.conversation.status,
            "inbox": ctx.facts.get("conversation.inbox"),
            "assignee": ctx.facts.get("conversation.assignee"),
            "tags": ctx.facts.get("conversation.tags"),
        },
        "contact": {
            "id": ctx.conversation.contact_id,
            "name": ctx.facts.get("contact.name"),
            "phone": ctx.facts.get("contact.phone"),
        },
        "data": {
            key: ctx.render(value) if isinstance(value, str) else value
            for key, value in params.data.items()
        },
    }
    body = json.dumps(payload, sort_keys=True).encode()
    secret = os.environ.get(params.secret_env, "") if params.secret_env else ctx.secret_key
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, body),
        # Receivers de-duplicate on this: a retry after a lost response sends the same key.
        "Idempotency-Key": ctx.key,
    }
    response = httpx.post(params.url, content=body, headers=headers, timeout=params.timeout)
    if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
        raise ActionSkipped(f"webhook answered {response.status_code}")
    response.raise_for_status()  # 5xx and timeouts: the activity is retried
    return f"POST {params.url} -> {response.status_code}"


_action(
    ActionKind(
        "webhook",
        Webhook,
        "POST a JSON description of the conversation, signed with HMAC-SHA256 "
        f"({SIGNATURE_HEADER}: sha256=<hex>).",
        "webhook: {url: https://crm.example.com/hooks/sms, secret_env: CRM_SECRET}",
        _webhook,
        shorthand="url",
        template_params=("data",),
        remote=True,
    )
)
