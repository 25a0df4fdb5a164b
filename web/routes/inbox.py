"""The inbox screen: conversation list (left), timeline and composer (centre), details (right)."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep
from inbox.limits import DbId, parse_id
from inbox.models import Conversation, User
from inbox.services import snooze, tags
from web.auth import CurrentUser
from web.consent import consent_view, held_text
from web.deps import live_position, page_context
from web.details import details_context
from web.merge import MERGE_FIELDS
from web.queries import (
    VIEW_LABELS,
    ListQuery,
    assignable_users,
    contact_conversations,
    contact_events,
    get_conversation,
    list_conversations,
    mark_read,
    my_unread_count,
    notes,
    parse_sort,
    parse_view,
    timeline,
    visible_inboxes,
)
from web.search import BAD_TAG
from web.templating import is_htmx, render

router = APIRouter(tags=["web"])

PAGE_SIZE = 50


async def list_query_params(
    view: str | None = None,
    sort: str | None = None,
    inbox: str | None = None,
    q: str = "",
    tag: str = "",
) -> ListQuery:
    """:func:`list_query` as a dependency (async: no worker thread for a few string checks)."""
    return list_query(view, sort, inbox, q, tag)


def list_query(
    view: str | None = None,
    sort: str | None = None,
    inbox: str | None = None,
    q: str = "",
    tag: str = "",
) -> ListQuery:
    """The left panel's query from request parameters; bad values fall back to defaults (a
    malformed tag filter matches nothing: the agent asked for a tag, not for everything)."""
    inbox_id = parse_id(inbox)
    return ListQuery(
        view=parse_view(view),
        sort=parse_sort(sort),
        inbox_id=inbox_id,
        q=q[:200],
        tag=tag_filter(tag),
    )


def tag_filter(value: str) -> str:
    """A ``tag`` query parameter as filtered on: normalised, "" for none."""
    if not value.strip():
        return ""
    try:
        return tags.normalise(value[:200])
    except ValueError:
        return BAD_TAG


# The left panel's query, read from the request's query string by FastAPI.
ListQueryDep = Annotated[ListQuery, Depends(list_query_params)]


def list_context(session: Session, user: User, query: ListQuery) -> dict[str, Any]:
    """The left panel's list: one page of conversations with their unread state, the badge."""
    return {
        "query": query,
        "views": VIEW_LABELS,
        "conversations": list_conversations(session, user, query, limit=PAGE_SIZE),
        "unread_count": my_unread_count(session, user),
    }


def panel_context(session: Session, user: User, query: ListQuery) -> dict[str, Any]:
    """The whole left panel: the list and the inbox filter's choices."""
    return {**list_context(session, user, query), "inboxes": visible_inboxes(session, user)}


def conversation_context(
    session: Session, user: User, conversation: Conversation, *, live_after: int
) -> dict[str, Any]:
    """The centre and right panels for one conversation.

    ``live_after`` is the live feed position read before ``conversation`` and everything else
    the panels show was loaded: the page drops a render whose position is older than the one on
    screen (an action's answer and a live refresh can cross), so a render must never claim to
    be newer than the data it read."""
    items = timeline(session, conversation)
    return {
        "live_after": live_after,
        "conversation": conversation,
        "contact": conversation.contact,
        "timeline": items,
        "notes": notes(items),
        "other_conversations": contact_conversations(
            session, user, conversation.contact_id, exclude=conversation.id
        ),
        "contact_events": contact_events(session, user, conversation.contact_id, limit=10),
        "users": assignable_users(session),
        "move_inboxes": visible_inboxes(session, user),
        "merge_fields": MERGE_FIELDS,
        "consent": consent_view(session, conversation),
        "held_text": lambda message: held_text(message, conversation),
        **details_context(session, conversation),
        "snooze_text": lambda c: snooze.describe(c, c.snoozed_until) if c.snoozed_until else "",
        # A time as the picker shows it: the inbox's wall clock, to the minute.
        "inbox_local": lambda at: (
            at.astimezone(ZoneInfo(conversation.inbox.timezone or "UTC")).strftime("%Y-%m-%dT%H:%M")
            if at is not None
            else ""
        ),
    }


@router.get("/")
def home() -> Response:
    return RedirectResponse("/inbox", status_code=303)


@router.get("/inbox")
def inbox_page(
    request: Request, session: SessionDep, user: CurrentUser, query: ListQueryDep
) -> Response:
    """The three-panel inbox with no conversation open."""
    live_after = live_position(session)  # before the list: no change in between is missed
    context = page_context(
        request, session, user, live_after=live_after, **panel_context(session, user, query)
    )
    return render(request, "inbox.html", {**context, "conversation": None})


@router.get("/inbox/list")
def conversation_list(
    request: Request, session: SessionDep, user: CurrentUser, query: ListQueryDep
) -> Response:
    """Just the list items and the unread badge (search, filters, live refresh); the whole
    page, filters included, for a request that is not htmx's."""
    partial = is_htmx(request)
    panel = list_context if partial else panel_context
    # The two blocks htmx gets show no live feed position: it is read for the whole page only.
    context = page_context(request, session, user, live=not partial, **panel(session, user, query))
    return render(
        request,
        "inbox.html",
        {**context, "conversation": None},
        blocks=["conversation_items", "unread_badge"],
    )


@router.get("/inbox/{conversation_id}")
def conversation_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    conversation_id: DbId,
    query: ListQueryDep,
) -> Response:
    """Open a conversation (marks it read for this user)."""
    live_after = live_position(session)  # before the data: see conversation_context
    conversation = get_conversation(session, user, conversation_id)
    mark_read(session, user=user, conversation=conversation)
    session.commit()
    context = page_context(
        request,
        session,
        user,
        **conversation_context(session, user, conversation, live_after=live_after),
    )
    if is_htmx(request):
        return render(
            request,
            "inbox.html",
            {**context, "query": query},
            blocks=["conversation_pane", "details"],
            headers={"HX-Trigger": "list-refresh"},
        )
    context.update(panel_context(session, user, query))
    return render(request, "inbox.html", context)


@router.get("/inbox/{conversation_id}/live")
def conversation_live(
    request: Request, session: SessionDep, user: CurrentUser, conversation_id: DbId
) -> Response:
    """The parts of an open conversation that change (header, timeline, details), as
    out-of-band swaps, so a live refresh never touches what the agent is typing."""
    live_after = live_position(session)  # before the data: see conversation_context
    conversation = get_conversation(session, user, conversation_id)
    mark_read(session, user=user, conversation=conversation, keep_marked_unread=True)
    session.commit()
    context = page_context(
        request,
        session,
        user,
        **conversation_context(session, user, conversation, live_after=live_after),
    )
    return render(
        request,
        "inbox.html",
        {**context, "query": ListQuery()},
        blocks=["conv_header", "timeline", "consent", "details"],
        fragment=True,
    )
