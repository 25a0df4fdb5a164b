"""@mentions in notes: how ``@…`` finds a teammate, and who is notified (once, never the
author, never someone who cannot see the conversation)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from inbox.models import Notification, NotificationKind, Role
from inbox.services.mentions import find_mentions, notify_mentions


@dataclass
class Mate:
    id: int
    name: str
    email: str


ALEX = Mate(1, "Alex Agent", "alex@example.com")
ALEXANDRA = Mate(2, "Alexandra Stone", "astone@example.com")
MAX = Mate(3, "Max Manager", "boss@example.com")
MAXI = Mate(4, "Maxi Miller", "maxi@example.com")
TEAM = [ALEX, ALEXANDRA, MAX, MAXI]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@Alex Agent can you call back?", [ALEX]),  # the whole display name
        ("ping @alex agent.", [ALEX]),  # any case, sentence punctuation after it
        ("@Alexandra Stone and @Alex Agent", [ALEXANDRA, ALEX]),  # in the order mentioned
        ("@boss please look", [MAX]),  # e-mail local part
        ("@astone, @maxi: see above", [ALEXANDRA, MAXI]),
        ("@alexagent @Max.Manager", [ALEX, MAX]),  # name without spaces or punctuation
        ("@Max?", [MAX]),  # a first name that one teammate has
        ("@Alex @alex @ALEX Agent", [ALEX]),  # once, however often
        ("write to boss@example.com", []),  # an e-mail address mentions nobody
        ("@nobody here", []),
        ("@ alone", []),
        ("@@boss", []),
    ],
)
def test_find_mentions(text: str, expected: list[Mate]) -> None:
    assert find_mentions(text, TEAM) == expected  # type: ignore[arg-type]


def test_an_ambiguous_word_mentions_nobody() -> None:
    twins = [Mate(1, "Sam Smith", "sam.smith@example.com"), Mate(2, "Sam Jones", "sj@example.com")]
    assert find_mentions("@Sam", twins) == []  # type: ignore[arg-type]
    assert find_mentions("@Sam Jones", twins) == [twins[1]]  # type: ignore[arg-type]


def test_notify_mentions_teammates_who_see_the_conversation(session, factory) -> None:
    author = factory.user(name="Alex Agent", email="alex@example.com")
    member = factory.user(name="Mia Member", email="mia@example.com")
    manager = factory.user(name="Max Manager", email="max@example.com", role=Role.MANAGER)
    outsider = factory.user(name="Olive Other", email="olive@example.com")
    gone = factory.user(name="Gus Gone", email="gus@example.com", is_active=False)
    inbox = factory.inbox(members=[author, member])
    conversation = factory.conversation(channel=factory.channel(default_inbox=inbox))
    text = "@Mia Member and @max, also @mia again; @olive @gus @alex"
    notified = notify_mentions(session, conversation=conversation, text=text, author=author)
    session.commit()
    assert [user.id for user in notified] == [member.id, manager.id]
    rows = session.scalars(select(Notification).order_by(Notification.id)).all()
    assert [(row.user_id, row.kind, row.conversation_id) for row in rows] == [
        (member.id, NotificationKind.MENTION, conversation.id),
        (manager.id, NotificationKind.MENTION, conversation.id),
    ]
    assert rows[0].text.startswith("Alex Agent mentioned you in a note: \u201c@Mia Member")
    assert outsider.id not in {row.user_id for row in rows} and gone.id not in {
        row.user_id for row in rows
    }


def test_a_long_note_is_quoted_short(session, factory) -> None:
    mate = factory.user(name="Mia Member", email="mia@example.com", role=Role.ADMIN)
    conversation = factory.conversation()
    notify_mentions(session, conversation=conversation, text="@mia " + "x" * 500, author=None)
    (row,) = session.scalars(select(Notification)).all()
    assert row.user_id == mate.id and row.text.startswith("An integration mentioned you")
    assert len(row.text) < 220 and row.text.endswith("\u2026\u201d")
