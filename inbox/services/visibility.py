"""Who may see what: the one inbox-visibility rule every query of conversations, contacts,
contact logs, notes, events and messages goes through (web pages, fragments, pickers, search,
the live stream and the JSON API alike).

- An admin or manager sees every inbox. An agent sees the inboxes they are a member of, and
  any conversation assigned to them wherever it is.
- An API key sees every inbox, or only the inboxes chosen for it.
- A conversation is visible when its inbox is (or it is assigned to the viewer).
- A contact is visible when one of its conversations is, or when it has none at all (a
  contact nobody has talked to yet belongs to no inbox: the shared address book).
- A contact-log event or a message is visible when its conversation is; one that belongs to
  no conversation (a call logged by an integration, a one-off SMS) when its contact is.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from inbox.models import (
    ApiKey,
    Contact,
    ContactEvent,
    Conversation,
    Message,
    Role,
    User,
    api_key_inboxes,
    inbox_members,
)


@dataclass(frozen=True)
class Scope:
    """What a viewer may see: ``inbox_ids`` None means every inbox; ``user_id`` also shows the
    conversations assigned to that user."""

    inbox_ids: frozenset[int] | None
    user_id: int | None = None

    @property
    def everything(self) -> bool:
        return self.inbox_ids is None

    def sees_inbox(self, inbox_id: int) -> bool:
        return self.inbox_ids is None or inbox_id in self.inbox_ids

    def sees(self, conversation: Conversation) -> bool:
        """The rule of :func:`conversations`, for a row already loaded."""
        return self.sees_inbox(conversation.inbox_id) or (
            self.user_id is not None and conversation.assignee_id == self.user_id
        )


EVERYTHING = Scope(inbox_ids=None)


def member_inbox_ids(session: Session, user_id: int) -> frozenset[int]:
    """The inboxes a user belongs to, read once per session (one request: a conversation page
    tests visibility more than once; no screen changes memberships and then lists)."""
    key = ("member_inbox_ids", user_id)
    if key not in session.info:
        session.info[key] = frozenset(
            session.scalars(
                select(inbox_members.c.inbox_id).where(inbox_members.c.user_id == user_id)
            )
        )
    found: frozenset[int] = session.info[key]
    return found


def scope_for_user(session: Session, user: User) -> Scope:
    """A web user's scope: admins and managers every inbox; agents their inboxes and what is
    assigned to them."""
    if user.role in (Role.ADMIN, Role.MANAGER):
        return Scope(inbox_ids=None, user_id=user.id)
    return Scope(inbox_ids=member_inbox_ids(session, user.id), user_id=user.id)


def scope_for_key(session: Session, api_key: ApiKey) -> Scope:
    """An API key's scope: every inbox, or the ones chosen for it."""
    if api_key.all_inboxes:
        return EVERYTHING
    chosen = session.scalars(
        select(api_key_inboxes.c.inbox_id).where(api_key_inboxes.c.api_key_id == api_key.id)
    )
    return Scope(inbox_ids=frozenset(chosen))


def conversations(scope: Scope) -> ColumnElement[bool]:
    """The condition on ``Conversation`` rows the scope may see."""
    if scope.inbox_ids is None:
        return true()
    in_inboxes = Conversation.inbox_id.in_(sorted(scope.inbox_ids)) if scope.inbox_ids else false()
    if scope.user_id is None:
        return in_inboxes
    return or_(in_inboxes, Conversation.assignee_id == scope.user_id)


def contacts(scope: Scope) -> ColumnElement[bool]:
    """The condition on ``Contact`` rows the scope may see."""
    if scope.inbox_ids is None:
        return true()
    any_conversation = exists().where(Conversation.contact_id == Contact.id)
    a_visible_one = exists().where(Conversation.contact_id == Contact.id, conversations(scope))
    return or_(~any_conversation, a_visible_one)


def _of_conversation_or_contact(
    scope: Scope, conversation_id: ColumnElement[int | None], contact_id: ColumnElement[int]
) -> ColumnElement[bool]:
    if scope.inbox_ids is None:
        return true()
    visible_conversation = exists().where(Conversation.id == conversation_id, conversations(scope))
    visible_contact = exists().where(Contact.id == contact_id, contacts(scope))
    return or_(
        and_(conversation_id.is_not(None), visible_conversation),
        and_(conversation_id.is_(None), visible_contact),
    )


def events(scope: Scope) -> ColumnElement[bool]:
    """The condition on ``ContactEvent`` rows (contact log, notes, timeline events)."""
    return _of_conversation_or_contact(
        scope,
        ContactEvent.conversation_id,  # type: ignore[arg-type]
        ContactEvent.contact_id,  # type: ignore[arg-type]
    )


def messages(scope: Scope) -> ColumnElement[bool]:
    """The condition on ``Message`` rows."""
    return _of_conversation_or_contact(
        scope,
        Message.conversation_id,  # type: ignore[arg-type]
        Message.contact_id,  # type: ignore[arg-type]
    )


def can_see_contact(session: Session, scope: Scope, contact_id: int) -> bool:
    """True when the contact exists and the scope may see it."""
    return (
        session.scalar(select(Contact.id).where(Contact.id == contact_id, contacts(scope)).limit(1))
        is not None
    )
