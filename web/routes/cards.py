"""The card view: conversations as cards, grouped by status, inbox or assignee, sortable."""

from __future__ import annotations

from collections import OrderedDict

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SessionDep
from web.auth import CurrentUser
from web.deps import page_context
from web.queries import (
    VIEW_LABELS,
    ConversationRow,
    list_conversations,
    parse_view,
    visible_inboxes,
)
from web.routes.inbox import list_query
from web.templating import render

router = APIRouter(prefix="/cards", tags=["web"])

GROUPS = {"status": "Status", "inbox": "Inbox", "assignee": "Assignee"}
# A board is for scanning, not for reading 10,000 cards: each query shows its newest (or first
# added) MAX_CARDS, and the page says so and points to the list view, which pages.
MAX_CARDS = 100
STATUS_ORDER = ["open", "closed", "spam"]


def _group_key(conversation: ConversationRow, group: str) -> str:
    if group == "inbox":
        return conversation.inbox_name
    if group == "assignee":
        return conversation.assignee_name or "Unassigned"
    return conversation.status.capitalize()


@router.get("")
def cards_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    group: str = "status",
    view: str | None = None,
    sort: str | None = None,
    inbox: str | None = None,
    q: str = "",
    tag: str = "",
) -> Response:
    """Cards in columns (htmx: just the board block)."""
    group = group if group in GROUPS else "status"
    # Grouping by status only makes sense across statuses, so that board shows all of them.
    queries = [list_query(view, sort, inbox, q, tag)]
    if group == "status" and view is None:
        queries = [list_query(v, sort, inbox, q, tag) for v in ("all", "closed", "spam")]
    cards: list[ConversationRow] = []
    capped = False
    for query in queries:
        found = list_conversations(session, user, query, limit=MAX_CARDS + 1)
        capped = capped or len(found) > MAX_CARDS
        cards += found[:MAX_CARDS]
    columns: OrderedDict[str, list[ConversationRow]] = OrderedDict()
    if group == "status":
        for status in STATUS_ORDER:
            columns[status.capitalize()] = []
    for conversation in cards:
        columns.setdefault(_group_key(conversation, group), []).append(conversation)
    context = page_context(
        request,
        session,
        user,
        query=queries[0],
        view_param=view or "",
        views=VIEW_LABELS,
        group=group,
        groups=GROUPS,
        columns=columns,
        capped=capped,
        max_cards=MAX_CARDS,
        inboxes=visible_inboxes(session, user),
        parse_view=parse_view,
    )
    return render(request, "cards.html", context, block="board")
