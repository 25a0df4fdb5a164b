"""Canned replies: who may use and manage which, validation, and the composer's search.

Three scopes (:class:`~inbox.models.CannedScope`): shared replies serve every conversation,
inbox replies the conversations of their inbox, personal replies their owner alone. Admins
manage shared and inbox replies (Settings · Canned replies, audited like every settings
change); each user manages their own personal replies (Account · My canned replies), which
nobody else sees, admins included.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from inbox.models import CannedReply, CannedScope, Inbox, User
from inbox.services.admin import audit
from inbox.services.admin.errors import SettingsError
from inbox.services.outbound import MAX_BODY_CHARS

MAX_TITLE_CHARS = 100
# How many matches the composer's picker lists at most (type more to narrow them).
PICKER_LIMIT = 8


def _usable_where(*, user_id: int, inbox_id: int | None) -> ColumnElement[bool]:
    """The replies a user may insert in a conversation of ``inbox_id``."""
    return or_(
        CannedReply.scope == CannedScope.SHARED,
        and_(CannedReply.scope == CannedScope.INBOX, CannedReply.inbox_id == inbox_id),
        and_(CannedReply.scope == CannedScope.PERSONAL, CannedReply.owner_id == user_id),
    )


def search(
    session: Session, *, user: User, inbox_id: int | None, query: str = ""
) -> list[CannedReply]:
    """What the ``/`` picker offers: the usable replies whose title (or body) holds ``query``,
    titles that start with it first, then alphabetically."""
    text = query.strip().lower()
    stmt = select(CannedReply).where(_usable_where(user_id=user.id, inbox_id=inbox_id))
    title = func.lower(CannedReply.title)
    if text:
        stmt = stmt.where(
            or_(
                title.contains(text, autoescape=True),
                func.lower(CannedReply.body).contains(text, autoescape=True),
            )
        )
        stmt = stmt.order_by(case((title.startswith(text, autoescape=True), 0), else_=1))
    stmt = stmt.order_by(title, CannedReply.id).limit(PICKER_LIMIT)
    return list(session.scalars(stmt))


def managed_by_admins(session: Session) -> list[CannedReply]:
    """Shared replies, then each inbox's, by title."""
    stmt = (
        select(CannedReply)
        .where(CannedReply.scope.in_([CannedScope.SHARED, CannedScope.INBOX]))
        .outerjoin(Inbox, Inbox.id == CannedReply.inbox_id)
        .order_by(
            case((CannedReply.scope == CannedScope.SHARED, 0), else_=1),
            Inbox.name,
            func.lower(CannedReply.title),
            CannedReply.id,
        )
    )
    return list(session.scalars(stmt))


def personal(session: Session, *, owner_id: int) -> list[CannedReply]:
    """One user's own replies, by title."""
    stmt = (
        select(CannedReply)
        .where(CannedReply.scope == CannedScope.PERSONAL, CannedReply.owner_id == owner_id)
        .order_by(func.lower(CannedReply.title), CannedReply.id)
    )
    return list(session.scalars(stmt))


def admin_reply(session: Session, reply_id: int) -> CannedReply | None:
    """A shared or inbox reply (never a personal one: those are their owner's alone)."""
    reply = session.get(CannedReply, reply_id)
    return reply if reply is not None and reply.scope != CannedScope.PERSONAL else None


def own_reply(session: Session, *, owner_id: int, reply_id: int) -> CannedReply | None:
    """One of ``owner_id``'s personal replies, or None (someone else's looks like none)."""
    reply = session.get(CannedReply, reply_id)
    if reply is None or reply.scope != CannedScope.PERSONAL or reply.owner_id != owner_id:
        return None
    return reply


def _clean(title: str, body: str) -> tuple[str, str]:
    title = title.strip()
    if not title:
        raise SettingsError("title: give the reply a title (what / finds it by)", field="title")
    if len(title) > MAX_TITLE_CHARS:
        raise SettingsError(f"title: at most {MAX_TITLE_CHARS} characters", field="title")
    if not body.strip():
        raise SettingsError("body: the reply's text is empty", field="body")
    if len(body) > MAX_BODY_CHARS:
        raise SettingsError(
            f"body: {len(body)} characters; a message holds at most {MAX_BODY_CHARS}",
            field="body",
        )
    return title, body


def _check_unique(
    session: Session,
    *,
    scope: str,
    inbox_id: int | None,
    owner_id: int | None,
    title: str,
    exclude_id: int | None = None,
) -> None:
    """One title per scope (case-insensitive), so ``/`` never offers two alike."""
    stmt = select(CannedReply.id).where(
        CannedReply.scope == scope,
        CannedReply.inbox_id.is_not_distinct_from(inbox_id),
        CannedReply.owner_id.is_not_distinct_from(owner_id),
        func.lower(CannedReply.title) == title.lower(),
    )
    if exclude_id is not None:
        stmt = stmt.where(CannedReply.id != exclude_id)
    if session.scalars(stmt).first() is not None:
        other = {
            "shared": "another shared reply",
            "inbox": "another reply of this inbox",
            "personal": "another of your replies",
        }[scope]
        raise SettingsError(f"title: {other} is called {title!r} already", field="title")


def _describe(reply: CannedReply) -> str:
    return f"{reply.scope}:{reply.inbox_id or ''}:{reply.title}"


def create(
    session: Session,
    *,
    scope: str,
    title: str,
    body: str,
    inbox_id: int | None = None,
    owner_id: int | None = None,
    actor_id: int | None = None,
) -> CannedReply:
    """Save a reply. Shared replies have neither inbox nor owner, inbox replies an existing
    inbox, personal replies an owner."""
    if scope not in {s.value for s in CannedScope}:
        raise SettingsError("scope: shared, inbox or personal", field="scope")
    if scope == CannedScope.INBOX:
        if inbox_id is None or session.get(Inbox, inbox_id) is None:
            raise SettingsError("inbox: choose the inbox the reply is for", field="inbox_id")
    else:
        inbox_id = None
    if scope == CannedScope.PERSONAL:
        if owner_id is None:
            raise SettingsError("owner: a personal reply needs its owner", field="owner_id")
    else:
        owner_id = None
    title, body = _clean(title, body)
    _check_unique(session, scope=scope, inbox_id=inbox_id, owner_id=owner_id, title=title)
    reply = CannedReply(scope=scope, inbox_id=inbox_id, owner_id=owner_id, title=title, body=body)
    session.add(reply)
    session.flush()
    if scope != CannedScope.PERSONAL:
        audit.record(
            session, actor_id=actor_id, action="canned_reply.create", target=_describe(reply)
        )
    return reply


def update(
    session: Session, *, reply: CannedReply, title: str, body: str, actor_id: int | None = None
) -> CannedReply:
    """Change a reply's title and body (its scope stays)."""
    title, body = _clean(title, body)
    _check_unique(
        session,
        scope=reply.scope,
        inbox_id=reply.inbox_id,
        owner_id=reply.owner_id,
        title=title,
        exclude_id=reply.id,
    )
    changed = title != reply.title or body != reply.body
    reply.title, reply.body = title, body
    session.flush()
    if changed and reply.scope != CannedScope.PERSONAL:
        audit.record(
            session, actor_id=actor_id, action="canned_reply.update", target=_describe(reply)
        )
    return reply


def delete(session: Session, *, reply: CannedReply, actor_id: int | None = None) -> None:
    """Remove a reply."""
    if reply.scope != CannedScope.PERSONAL:
        audit.record(
            session, actor_id=actor_id, action="canned_reply.delete", target=_describe(reply)
        )
    session.delete(reply)
    session.flush()
