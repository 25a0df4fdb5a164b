"""@mentions in internal notes: ``@name`` in a note notifies that teammate, once per note.

Who counts as a teammate: an active user who may see the conversation (admins and managers,
the members of its inbox, its assignee), other than the note's author. How ``@…`` is read,
at the start of the note or after a character that is not a letter or digit (so an e-mail
address such as ``sam@example.com`` mentions nobody):

1. a teammate's whole display name, any case (``@Alex Agent``); the longest such name wins;
2. else the word after ``@`` (letters, digits, ``.``, ``_``, ``-``, ``+``; a trailing
   ``.`` or ``-`` is punctuation), matched against, in this order, the local part of a
   teammate's e-mail (``@alex`` for alex@example.com), the display name without spaces or
   punctuation (``@alexagent``, ``@alex.agent``), and a first name (``@Alex``). The first of
   these that matches exactly one teammate decides; a word that matches two teammates at the
   same step is ambiguous and mentions nobody.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from inbox.models import Conversation, NotificationKind, Role, User, inbox_members
from inbox.services.notifications import notify

_AT = re.compile(r"(?<![\w@])@")
_WORD = re.compile(r"[\w.+\-]+")
PREVIEW = 160


def _squash(value: str) -> str:
    return re.sub(r"[\W_]+", "", value).casefold()


def _by_word(word: str, teammates: Sequence[User]) -> User | None:
    keys: tuple[Callable[[User], str], ...] = (
        lambda user: user.email.split("@", 1)[0].casefold(),
        lambda user: _squash(user.name),
        lambda user: user.name.split()[0].casefold() if user.name.split() else "",
    )
    wanted = (word.casefold(), _squash(word), word.casefold())
    for key, want in zip(keys, wanted, strict=True):
        if not want:
            continue
        found = [user for user in teammates if key(user) == want]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return None
    return None


def _by_name(rest: str, teammates: Sequence[User]) -> User | None:
    folded = rest.casefold()
    best: User | None = None
    for user in teammates:
        name = user.name.strip().casefold()
        if not name or not folded.startswith(name):
            continue
        after = folded[len(name) : len(name) + 1]
        if after and (after.isalnum() or after == "_"):
            continue  # "@Alexander" is not "@Alex"
        if best is None or len(name) > len(best.name.strip()):
            best = user
    return best


def find_mentions(text: str, teammates: Sequence[User]) -> list[User]:
    """The teammates ``text`` mentions, each once, in the order first mentioned."""
    found: dict[int, User] = {}
    for match in _AT.finditer(text):
        rest = text[match.end() :]
        user = _by_name(rest, teammates)
        if user is None:
            word = _WORD.match(rest)
            if word is None:
                continue
            user = _by_word(word.group().rstrip(".-"), teammates)
        if user is not None:
            found.setdefault(user.id, user)
    return list(found.values())


def teammates(session: Session, conversation: Conversation) -> list[User]:
    """Active users who may see the conversation (see the module docstring)."""
    members = select(inbox_members.c.user_id).where(
        inbox_members.c.inbox_id == conversation.inbox_id
    )
    query = select(User).where(
        User.is_active.is_(True),
        or_(
            User.role.in_((Role.ADMIN, Role.MANAGER)),
            User.id.in_(members),
            User.id == conversation.assignee_id,
        ),
    )
    return list(session.scalars(query.order_by(User.id)))


def notify_mentions(
    session: Session, *, conversation: Conversation, text: str, author: User | None
) -> list[User]:
    """Notify every teammate the note ``text`` mentions (not its author); no commit."""
    if "@" not in text:
        return []
    # Matched among every teammate, the author too, so that "@Alex" written by one Alex is
    # still ambiguous with another: nobody is guessed at.
    mentioned = [
        user
        for user in find_mentions(text, teammates(session, conversation))
        if author is None or user.id != author.id
    ]
    who = author.name if author is not None else "An integration"
    preview = text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "\u2026"
    for user in mentioned:
        notify(
            session,
            user=user,
            text=f"{who} mentioned you in a note: \u201c{preview}\u201d",
            conversation=conversation,
            kind=NotificationKind.MENTION,
        )
    return mentioned
