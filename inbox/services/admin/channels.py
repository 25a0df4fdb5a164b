"""Channels: the numbers conversations arrive on, each routed to a default inbox."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.models import Channel, ChannelType, Conversation, Inbox, Message
from inbox.phone import InvalidNumber, normalize_number
from inbox.providers import ProviderError, SmsProvider
from inbox.services.admin import audit
from inbox.services.admin.errors import SettingsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NumberChoices:
    """What the "Add a channel" form offers for the number: ``numbers`` (the provider's numbers
    no channel uses yet) when the provider listed them, else None and the admin types one;
    ``notice`` says why the list is missing or empty when that is worth saying."""

    numbers: list[str] | None
    notice: str | None = None


def list_channels(session: Session) -> list[Channel]:
    """Every channel, by name."""
    return list(session.scalars(select(Channel).order_by(Channel.name, Channel.id)))


def number_choices(session: Session, *, provider: SmsProvider) -> NumberChoices:
    """The provider's numbers that no channel uses yet, asked afresh on every call (a number
    bought a minute ago shows up). An outage, or credentials the provider refuses, falls back to
    typing the number, with the reason."""
    label = provider.name.capitalize()
    try:
        listed = provider.list_numbers()
    except ProviderError as exc:
        log.warning("could not list the %s numbers: %s", provider.name, exc)
        return NumberChoices(None, f"Couldn't list your {label} numbers: {exc}; enter the number")
    if listed is None:
        return NumberChoices(None)
    used = set(session.scalars(select(Channel.number).where(Channel.number.is_not(None))))
    unused: set[str] = set()
    for number in listed:
        try:
            e164 = normalize_number(number)
        except InvalidNumber:
            # Short codes and other non-E.164 entries cannot be a channel's number.
            continue
        if e164 not in used:
            unused.add(e164)
    if not unused:
        return NumberChoices(
            None, f"Every number on your {label} account has a channel; enter the number"
        )
    return NumberChoices(sorted(unused))


def _validated(
    session: Session,
    *,
    name: str,
    type: str,
    number: str,
    default_inbox_id: int,
    channel_id: int | None,
) -> tuple[str, str, str, Inbox]:
    name = name.strip()
    if not name or len(name) > 200:
        raise SettingsError("name: 1 to 200 characters", field="name")
    if type not in {t.value for t in ChannelType}:
        raise SettingsError(
            f"type: must be one of {', '.join(t.value for t in ChannelType)}", field="type"
        )
    try:
        e164 = normalize_number(number)
    except InvalidNumber as exc:
        raise SettingsError(f"number: {exc}", field="number") from exc
    owner = session.scalars(select(Channel).where(Channel.number == e164)).first()
    if owner is not None and owner.id != channel_id:
        raise SettingsError(f"number: {e164} belongs to channel {owner.name!r}", field="number")
    inbox = session.get(Inbox, default_inbox_id)
    if inbox is None:
        raise SettingsError("default inbox: choose an inbox", field="default_inbox_id")
    return name, type, e164, inbox


def create_channel(
    session: Session,
    *,
    name: str,
    number: str,
    default_inbox_id: int,
    type: str = ChannelType.SMS,
    actor_id: int | None = None,
) -> Channel:
    """Add a channel; the number is stored E.164 and must not belong to another channel."""
    name, type, e164, inbox = _validated(
        session,
        name=name,
        type=type,
        number=number,
        default_inbox_id=default_inbox_id,
        channel_id=None,
    )
    channel = Channel(name=name, type=type, number=e164, default_inbox_id=inbox.id)
    session.add(channel)
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="channel.create",
        target=f"{name} ({e164})",
        details={"channel_id": channel.id, "default_inbox": inbox.name},
    )
    return channel


def update_channel(
    session: Session,
    *,
    channel: Channel,
    name: str,
    number: str,
    default_inbox_id: int,
    actor_id: int | None = None,
) -> Channel:
    """Rename a channel, change its number or its default inbox (new conversations only)."""
    name, _, e164, inbox = _validated(
        session,
        name=name,
        type=channel.type,
        number=number,
        default_inbox_id=default_inbox_id,
        channel_id=channel.id,
    )
    before = _snapshot(channel)
    channel.name, channel.number, channel.default_inbox_id = name, e164, inbox.id
    channel.default_inbox = inbox
    changes = _diff(before, _snapshot(channel))
    if changes:
        audit.record(
            session, actor_id=actor_id, action="channel.update", target=name, details=changes
        )
    return channel


def delete_channel(session: Session, *, channel: Channel, actor_id: int | None = None) -> None:
    """Delete a channel that no conversation or message uses (else refused: history stays)."""
    used = session.scalar(
        select(func.count()).select_from(Conversation).where(Conversation.channel_id == channel.id)
    ) or session.scalar(
        select(func.count()).select_from(Message).where(Message.channel_id == channel.id)
    )
    if used:
        raise SettingsError(
            f"channel {channel.name!r} has conversations or messages; it cannot be deleted "
            "(change its number instead)"
        )
    audit.record(
        session,
        actor_id=actor_id,
        action="channel.delete",
        target=f"{channel.name} ({channel.number})",
    )
    session.delete(channel)
    session.flush()


def _snapshot(channel: Channel) -> dict[str, Any]:
    return {
        "name": channel.name,
        "number": channel.number,
        "default_inbox_id": channel.default_inbox_id,
    }


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{"field": [old, new]}`` for what changed."""
    return {k: [before[k], after[k]] for k in after if before.get(k) != after[k]}


CONSENT_MODES = ("app", "provider")
# Two SMS segments: carriers expect consent replies to be short.
MAX_CONSENT_REPLY = 320


def set_consent_replies(
    session: Session,
    *,
    channel: Channel,
    mode: str,
    opt_out_reply: str,
    opt_in_reply: str,
    help_reply: str,
    actor_id: int | None = None,
) -> Channel:
    """Who answers STOP, START and HELP on this channel, and with what (empty: the default)."""
    if mode not in CONSENT_MODES:
        raise SettingsError("answered by: the inbox (app) or the provider", field="consent_replies")
    texts = {
        "opt_out_reply": " ".join(opt_out_reply.split()),
        "opt_in_reply": " ".join(opt_in_reply.split()),
        "help_reply": " ".join(help_reply.split()),
    }
    for field, text in texts.items():
        if len(text) > MAX_CONSENT_REPLY:
            raise SettingsError(
                f"{field.replace('_', ' ')}: at most {MAX_CONSENT_REPLY} characters", field=field
            )
    if texts["help_reply"] and "STOP" not in texts["help_reply"].upper():
        raise SettingsError(
            "help reply: say how to opt out (carriers require it: 'Reply STOP to unsubscribe')",
            field="help_reply",
        )
    before = {"consent_replies": channel.consent_replies, **{f: getattr(channel, f) for f in texts}}
    channel.consent_replies = mode
    for field, text in texts.items():
        setattr(channel, field, text)
    after = {"consent_replies": mode, **texts}
    changes = _diff(before, after)
    if changes:
        audit.record(
            session,
            actor_id=actor_id,
            action="channel.consent_replies",
            target=channel.name,
            details=changes,
        )
    return channel
