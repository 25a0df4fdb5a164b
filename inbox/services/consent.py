"""SMS consent, per phone number for the whole business (every channel, every contact that
owns the number): recording opt-outs and opt-ins with when, how, which keyword, channel and
message; answering STOP, START and HELP; flagging revocations in other words for a person; and
the guard every send passes (``send_blocked``).

Who may end an opt-out: the contact's own START (or YES, UNSTOP) ends any; a person (an admin,
with a note) may record an opt-in only for an opt-out a person recorded. Every change is a
``consent_records`` row, and one recorded by a person is in the audit log too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox.consent.keywords import (
    HELP_WORDS,
    OPT_IN_WORDS,
    OPT_OUT_WORDS,
    Keyword,
    KeywordLists,
    normalize,
)
from inbox.consent.phrases import looks_like_opt_out
from inbox.consent.quiet_hours import DEFAULT_STATE_WINDOWS, QuietHours
from inbox.contracts import (
    SIGNAL_HOLD_CANCELLED,
    SIGNAL_OPT_OUT_DECIDED,
    ConversationEvent,
    MessageStatus,
)
from inbox.models import (
    Channel,
    ComplianceSettings,
    ConsentMethod,
    ConsentRecord,
    ConsentState,
    Contact,
    ContactNumber,
    Conversation,
    Direction,
    EventKind,
    Message,
    NotificationKind,
    User,
    utcnow,
)
from inbox.relay import enqueue_conversation_signal
from inbox.rules import hours
from inbox.services import contact_log
from inbox.services.admin import audit
from inbox.services.notifications import notify

OPT_OUT, OPT_IN = "opt_out", "opt_in"
# The purpose of the inbox's own consent replies: they pass the guard (an opted-out number gets
# the one confirmation of its opt-out).
CONSENT_PURPOSE = "consent"
# The FCC gives a business 10 business days to honour a revocation.
REVIEW_BUSINESS_DAYS = 10
# Blocked sends say why with this code (the API's 409 carries it).
OPTED_OUT_CODE = "opted_out"


class ConsentError(ValueError):
    """The change is not allowed (an admin ending a keyword opt-out, nothing to decide …)."""


@dataclass(frozen=True)
class Compliance:
    """The compliance settings in force."""

    keywords: KeywordLists
    quiet_hours: QuietHours
    automated_per_day: int


def _time(value: str, default: time) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        return default


def compliance(session: Session) -> Compliance:
    """The settings of Settings → Compliance, or the defaults where none were saved."""
    row = session.get(ComplianceSettings, 1)
    if row is None:
        return Compliance(KeywordLists(), QuietHours(), 3)
    states = {
        code: (_time(str(span[0]), time(8)), _time(str(span[1]), time(21)))
        for code, span in (row.state_windows or {}).items()
    }
    return Compliance(
        KeywordLists.of(
            row.opt_out_words or OPT_OUT_WORDS,
            row.opt_in_words or OPT_IN_WORDS,
            row.help_words or HELP_WORDS,
        ),
        QuietHours(
            _time(row.quiet_start, time(8)),
            _time(row.quiet_end, time(21)),
            states if row.state_windows else dict(DEFAULT_STATE_WINDOWS),
        ),
        row.automated_per_day,
    )


@dataclass(frozen=True)
class Blocked:
    """Why a send may not go: ``code`` for machines (``opted_out``), ``reason`` for people."""

    code: str
    reason: str


def state_of(session: Session, number: str) -> ConsentState | None:
    """The number's consent state, if it ever changed."""
    return session.get(ConsentState, number)


def describe(state: ConsentState) -> str:
    """``Opted out on 1 Dec by replying STOP`` (or at the carrier, or recorded by a person)."""
    when = f"{state.changed_at.day} {state.changed_at.strftime('%b')}"
    if state.method == ConsentMethod.KEYWORD:
        return f"Opted out on {when} by replying {state.keyword or 'STOP'}"
    if state.method == ConsentMethod.CARRIER:
        return f"Opted out on {when} at the carrier (the number refuses texts)"
    return f"Opted out on {when}, recorded by a person"


def send_blocked(session: Session, number: str, purpose: str = "") -> Blocked | None:
    """Why a text to ``number`` may not go now, or None: the one guard every send passes,
    checked when a message is queued and again when it is handed to the provider."""
    if purpose == CONSENT_PURPOSE:
        return None
    state = state_of(session, number)
    if state is not None and state.opted_out:
        return Blocked(OPTED_OUT_CODE, describe(state))
    return None


def automated_in_last_day(session: Session, contact_id: int, now: datetime) -> int:
    """Automated texts to a contact in the 24 hours before ``now`` (the frequency cap)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Message)
            .where(
                Message.contact_id == contact_id,
                Message.direction == Direction.OUTBOUND,
                Message.automated.is_(True),
                Message.purpose != CONSENT_PURPOSE,
                Message.created_at > now - timedelta(days=1),
                Message.status.not_in([MessageStatus.BLOCKED, MessageStatus.CANCELLED]),
            )
        )
        or 0
    )


# --- recording --------------------------------------------------------------------------------


def _contacts_with(session: Session, number: str) -> list[Contact]:
    return list(
        session.scalars(select(Contact).join(ContactNumber).where(ContactNumber.number == number))
    )


def _log(
    session: Session,
    *,
    contact: Contact,
    conversation: Conversation | None,
    kind: EventKind,
    summary: str,
    data: dict[str, object],
    actor_id: int | None,
) -> None:
    contact_log.write(
        session,
        contact=contact,
        conversation=conversation,
        kind=kind,
        summary=summary,
        data=data,
        author_id=actor_id,
    )


def _change(
    session: Session,
    *,
    number: str,
    action: str,
    method: str,
    summary: str,
    keyword: str | None = None,
    message: Message | None = None,
    conversation: Conversation | None = None,
    channel_id: int | None = None,
    actor_id: int | None = None,
    note: str = "",
) -> None:
    """Record one change of the number's consent: its state, its record, its contacts' flag,
    their logs (and the conversation's timeline)."""
    now = utcnow()
    state = state_of(session, number)
    if state is None:
        state = ConsentState(number=number)
        session.add(state)
    state.opted_out = action == OPT_OUT
    state.method = method
    state.keyword = keyword
    state.channel_id = channel_id
    state.message_id = message.id if message is not None else None
    state.changed_at = now
    contacts = _contacts_with(session, number)
    session.add(
        ConsentRecord(
            number=number,
            action=action,
            method=method,
            keyword=keyword,
            channel_id=channel_id,
            message_id=message.id if message is not None else None,
            contact_id=contacts[0].id if contacts else None,
            actor_id=actor_id,
            note=note,
            created_at=now,
        )
    )
    session.flush()
    for contact in contacts:
        numbers = [n.number for n in contact.numbers]
        others = session.scalars(
            select(ConsentState.number).where(
                ConsentState.number.in_(numbers), ConsentState.opted_out.is_(True)
            )
        ).all()
        contact.opted_out = bool(others)
        contact.opted_out_at = now if contact.opted_out else None
        _log(
            session,
            contact=contact,
            conversation=conversation
            if conversation and conversation.contact_id == contact.id
            else None,
            kind=EventKind.OPTED_OUT if action == OPT_OUT else EventKind.OPTED_IN,
            summary=summary,
            data={"number": number, "method": method, "keyword": keyword, "note": note},
            actor_id=actor_id,
        )
    if action == OPT_OUT:
        _cancel_held(session, number, summary)


def _cancel_held(session: Session, number: str, why: str) -> None:
    """An opt-out cancels every text held for the number (and tells their workflows)."""
    held = session.scalars(
        select(Message).where(Message.to_number == number, Message.status == MessageStatus.HELD)
    ).all()
    for message in held:
        message.status = MessageStatus.CANCELLED
        message.error_code = OPTED_OUT_CODE
        message.error_message = f"Not sent: {why}"
        if message.conversation_id is not None:
            enqueue_conversation_signal(
                session,
                message.conversation_id,
                SIGNAL_HOLD_CANCELLED,
                ConversationEvent(
                    key=f"hold-cancelled-{message.id}", at=utcnow(), message_id=message.id
                ),
            )


def record_carrier_opt_out(session: Session, message: Message) -> None:
    """The carrier refused a send because the number opted out there (Twilio 21610)."""
    state = state_of(session, message.to_number)
    if state is not None and state.opted_out:
        return
    conversation = (
        session.get(Conversation, message.conversation_id) if message.conversation_id else None
    )
    _change(
        session,
        number=message.to_number,
        action=OPT_OUT,
        method=ConsentMethod.CARRIER,
        summary="Opted out at the carrier (texts to the number are refused)",
        message=message,
        conversation=conversation,
        channel_id=message.channel_id,
    )


def record_by_person(
    session: Session,
    *,
    number: str,
    opt_out: bool,
    actor: User,
    note: str,
    message: Message | None = None,
    conversation: Conversation | None = None,
) -> None:
    """A person records an opt-out (a revocation in other words, a call …) or a documented
    opt-in; the note is required. An opt-in may end only an opt-out a person recorded: a
    keyword or carrier opt-out ends only with the contact's own START."""
    note = note.strip()
    if not note:
        raise ConsentError("note: say why (what the contact said, and where)")
    state = state_of(session, number)
    if opt_out and state is not None and state.opted_out:
        raise ConsentError(f"{number} is opted out already")
    if not opt_out:
        if state is None or not state.opted_out:
            raise ConsentError(f"{number} is not opted out")
        if state.method != ConsentMethod.MANUAL:
            raise ConsentError(f"{describe(state)}: only the contact can end it, by texting START")
    action = OPT_OUT if opt_out else OPT_IN
    _change(
        session,
        number=number,
        action=action,
        method=ConsentMethod.MANUAL,
        summary=(
            f"Opt-out recorded by {actor.name}: {note}"
            if opt_out
            else f"Opt-in recorded by {actor.name}: {note}"
        ),
        message=message,
        conversation=conversation,
        channel_id=conversation.channel_id if conversation is not None else None,
        actor_id=actor.id,
        note=note,
    )
    audit.record(
        session,
        actor_id=actor.id,
        action=f"consent.{action}",
        target=number,
        details={"note": note, "message_id": message.id if message else None},
    )


# --- inbound ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboundConsent:
    """What an inbound text meant for consent: its keyword (if it was one), the inbox's reply
    to send (the one confirmation of an opt-out, the help text …; empty for none) and, for a
    revocation in other words, when a person must have decided (a reminder then)."""

    keyword: Keyword | None = None
    reply: str = ""
    review_by: datetime | None = None


def handle_inbound(
    session: Session, *, message: Message, conversation: Conversation, channel: Channel
) -> InboundConsent:
    """Act on an inbound text's consent, in its transaction: STOP records the opt-out (its one
    confirmation is the reply), START ends one (and confirms), HELP is answered; a revocation
    in other words flags the conversation and notifies its assignee. The caller queues the
    reply (none when the channel's provider answers keywords itself)."""
    settings = compliance(session)
    keyword = settings.keywords.classify(message.body)
    number = message.from_number
    state = state_of(session, number)
    word = normalize(message.body).upper()
    reply = ""

    def record(action: str, summary: str) -> None:
        _change(
            session,
            number=number,
            action=action,
            method=ConsentMethod.KEYWORD,
            keyword=word,
            summary=f"{summary} by replying {word}",
            message=message,
            conversation=conversation,
            channel_id=channel.id,
        )

    if keyword == Keyword.OPT_OUT:
        if state is None or not state.opted_out:  # at most one confirmation per opt-out
            record(OPT_OUT, "Opted out")
            reply = replies.opt_out(channel)
    elif keyword == Keyword.OPT_IN:
        if state is not None and state.opted_out:
            record(OPT_IN, "Opted in")
            reply = replies.opt_in(channel)
    elif keyword == Keyword.HELP:
        reply = replies.help(channel)
    elif looks_like_opt_out(message.body) and (state is None or not state.opted_out):
        return InboundConsent(review_by=_flag(session, conversation, message))
    return InboundConsent(keyword=keyword, reply=reply if channel.consent_replies == "app" else "")


def _flag(session: Session, conversation: Conversation, message: Message) -> datetime:
    conversation.possible_opt_out_message_id = message.id
    contact = session.get_one(Contact, conversation.contact_id)
    _log(
        session,
        contact=contact,
        conversation=conversation,
        kind=EventKind.POSSIBLE_OPT_OUT,
        summary=f"Possible opt-out: \u201c{message.body[:200]}\u201d",
        data={"message_id": message.id},
        actor_id=None,
    )
    if conversation.assignee is not None:
        notify(
            session,
            user=conversation.assignee,
            text=f"{contact.display_name} may have asked to stop texts: "
            f"\u201c{message.body[:120]}\u201d. Record the opt-out or dismiss it.",
            conversation=conversation,
            kind=NotificationKind.POSSIBLE_OPT_OUT,
        )
    inbox = conversation.inbox
    return hours.add_business_days(
        inbox.business_hours,
        inbox.timezone,
        message.created_at,
        REVIEW_BUSINESS_DAYS,
        inbox.holidays,
    )


def decide_possible(
    session: Session, *, conversation: Conversation, actor: User, opt_out: bool, note: str = ""
) -> None:
    """A person decides a flagged revocation: record the opt-out, or dismiss the flag."""
    message_id = conversation.possible_opt_out_message_id
    if message_id is None:
        raise ConsentError(f"conversation {conversation.id} has no possible opt-out to decide")
    message = session.get(Message, message_id)
    if opt_out:
        record_by_person(
            session,
            number=conversation.contact_number,
            opt_out=True,
            actor=actor,
            note=note
            or f"asked in other words: \u201c{message.body[:200] if message else ''}\u201d",
            message=message,
            conversation=conversation,
        )
    else:
        contact = session.get_one(Contact, conversation.contact_id)
        _log(
            session,
            contact=contact,
            conversation=conversation,
            kind=EventKind.POSSIBLE_OPT_OUT,
            summary=f"Not an opt-out, decided by {actor.name}",
            data={"message_id": message_id, "decision": "dismissed"},
            actor_id=actor.id,
        )
        audit.record(
            session,
            actor_id=actor.id,
            action="consent.dismiss",
            target=conversation.contact_number,
            details={"message_id": message_id},
        )
    conversation.possible_opt_out_message_id = None
    enqueue_conversation_signal(
        session,
        conversation.id,
        SIGNAL_OPT_OUT_DECIDED,
        ConversationEvent(key=f"opt-out-decided-{message_id}", at=utcnow(), message_id=message_id),
    )


# --- replies ----------------------------------------------------------------------------------


class _Replies:
    """The texts that answer STOP, START and HELP on a channel: its own, or these defaults
    (short, no marketing, as carriers ask)."""

    @staticmethod
    def opt_out(channel: Channel) -> str:
        return channel.opt_out_reply or (
            f"{channel.name}: You are unsubscribed and will receive no more messages. "
            "Reply START to resubscribe."
        )

    @staticmethod
    def opt_in(channel: Channel) -> str:
        return channel.opt_in_reply or (
            f"{channel.name}: You are resubscribed and will receive messages again. "
            "Reply STOP to unsubscribe, HELP for help."
        )

    @staticmethod
    def help(channel: Channel) -> str:
        return channel.help_reply or (
            f"{channel.name}: Reply to this message to reach a person. Reply STOP to "
            "unsubscribe. Msg & data rates may apply."
        )


replies = _Replies()
