"""What an agent sees of consent on a conversation: why the composer is off (the number opted
out), a possible opt-out to decide, and a warning when it is quiet hours for the contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from inbox.consent.quiet_hours import contact_zones, held_until
from inbox.models import Conversation, Message, utcnow
from inbox.services import consent


@dataclass(frozen=True)
class ConsentView:
    """``blocked``: the banner of an opted-out number (the composer is off); ``possible``: the
    message that may revoke consent, to decide; ``quiet``: a warning for an agent's reply."""

    blocked: str = ""
    possible: Message | None = None
    quiet: str = ""


def _clock(at: datetime) -> str:
    return f"{at.hour:02d}:{at.minute:02d}"


def consent_view(session: Session, conversation: Conversation) -> ConsentView:
    number = conversation.contact_number
    blocked = consent.send_blocked(session, number)
    possible = (
        session.get(Message, conversation.possible_opt_out_message_id)
        if conversation.possible_opt_out_message_id is not None
        else None
    )
    quiet = ""
    if blocked is None:
        now = utcnow()
        rules = consent.compliance(session).quiet_hours
        zone_name = conversation.contact.timezone
        opens = held_until(
            now,
            number,
            rules,
            contact_zone=zone_name,
            inbox_zone=conversation.inbox.timezone,
        )
        if opens is not None:
            zone = contact_zones(number, zone_name, conversation.inbox.timezone)[0]
            local = now.astimezone(zone)
            quiet = (
                f"It is {_clock(local)} for this contact ({zone.key}): quiet hours. Your reply "
                f"goes now; automated texts wait until {_clock(opens.astimezone(zone))}."
            )
    return ConsentView(
        blocked=blocked.reason if blocked is not None else "", possible=possible, quiet=quiet
    )


def held_text(message: Message, conversation: Conversation) -> str:
    """``Held until Tue 02 Dec, 08:00 (quiet hours, the contact's time)``: when a held message
    goes, in the contact's zone."""
    if message.held_until is None:
        return ""
    zone = contact_zones(
        conversation.contact_number, conversation.contact.timezone, conversation.inbox.timezone
    )[0]
    if not message.automated:
        # A person's "send later": the time they picked, in the inbox's zone as they picked it.
        picked = ZoneInfo(conversation.inbox.timezone or "UTC")
        return f"Scheduled for {message.held_until.astimezone(picked).strftime('%a %d %b, %H:%M')}"
    when = message.held_until.astimezone(zone).strftime("%a %d %b, %H:%M")
    return f"Held until {when} (quiet hours, the contact's time)"
