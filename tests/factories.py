"""Factories for test data: each call makes a valid row, every argument overridable."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from inbox.models import (
    Channel,
    ConsentMethod,
    ConsentState,
    Contact,
    ContactNumber,
    Conversation,
    Inbox,
    Role,
    User,
)
from inbox.services.inbound import InboundResult, receive_inbound

_seq = itertools.count(1)
# Generated numbers start here: tests write numbers below it by hand (+14155550100 …), and a
# shared counter reaching one of those would collide depending on which tests ran first.
_NUMBER_BASE = 5000


class Factory:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _save(self, obj: Any) -> Any:
        self.session.add(obj)
        self.session.commit()
        return obj

    def user(self, **kw: Any) -> User:
        n = next(_seq)
        kw.setdefault("email", f"user{n}@example.com")
        kw.setdefault("name", f"User {n}")
        kw.setdefault("role", Role.AGENT)
        return self._save(User(**kw))  # type: ignore[no-any-return]

    def inbox(self, **kw: Any) -> Inbox:
        kw.setdefault("name", f"Inbox {next(_seq)}")
        return self._save(Inbox(**kw))  # type: ignore[no-any-return]

    def channel(self, **kw: Any) -> Channel:
        n = next(_seq)
        if "default_inbox_id" not in kw and "default_inbox" not in kw:
            kw["default_inbox"] = self.inbox()
        kw.setdefault("name", f"Channel {n}")
        kw.setdefault("number", f"+1415555{_NUMBER_BASE + n:04d}")
        return self._save(Channel(**kw))  # type: ignore[no-any-return]

    def contact(self, number: str | None = None, **kw: Any) -> Contact:
        n = next(_seq)
        kw.setdefault("name", f"Contact {n}")
        contact = Contact(**kw)
        contact.numbers.append(ContactNumber(number=number or f"+1202555{_NUMBER_BASE + n:04d}"))
        if kw.get("opted_out"):
            # Consent is kept per number: an opted-out contact's number is opted out.
            self.session.add(
                ConsentState(
                    number=contact.numbers[0].number,
                    opted_out=True,
                    method=ConsentMethod.KEYWORD,
                    keyword="STOP",
                )
            )
        return self._save(contact)  # type: ignore[no-any-return]

    def conversation(self, **kw: Any) -> Conversation:
        channel = kw.pop("channel", None) or self.channel()
        contact = kw.pop("contact", None) or self.contact()
        kw.setdefault("contact_number", contact.numbers[0].number)
        kw.setdefault("inbox_id", channel.default_inbox_id)
        return self._save(  # type: ignore[no-any-return]
            Conversation(channel_id=channel.id, contact_id=contact.id, **kw)
        )


_sids = itertools.count(1)


def text_in(session: Session, channel: Channel, number: str, body: str) -> InboundResult:
    """A contact texts ``channel`` through the real inbound path, committed."""
    result = receive_inbound(
        session,
        provider="simulator",
        provider_message_id=f"SMfactory{next(_sids)}",
        from_number=number,
        to_number=channel.number or "",
        body=body,
        media=[],
    )
    session.commit()
    return result
