"""The list view: a table with chosen columns, sort, paging and bulk close / assign / move."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy import Select

from api.deps import CommitDep, SessionDep
from inbox.limits import MAX_INT, DbId, parse_id
from inbox.models import Conversation, User
from inbox.services import conversations as actions
from web.auth import CsrfProtected, CurrentUser
from web.deps import page_context
from web.queries import (
    VIEW_LABELS,
    assignable_users,
    conversation_rows,
    count_conversations,
    filtered,
    get_conversation,
    visible_inboxes,
)
from web.routes.inbox import list_query
from web.templating import render

router = APIRouter(prefix="/list", tags=["web"])

PAGE_SIZE = 25
# Column key -> heading. The contact column is always shown.
COLUMNS: dict[str, str] = {
    "number": "Number",
    "preview": "Last message",
    "status": "Status",
    "inbox": "Inbox",
    "assignee": "Assignee",
    "last_message": "Last activity",
    "created": "Added",
    "first_response": "First response",
    "tags": "Tags",
    "sla": "SLA due",
}
DEFAULT_COLUMNS = ["preview", "status", "inbox", "assignee", "tags", "sla", "last_message"]
# The sorts an index of the views serves, so a search for a common word may walk the view
# (``web.search.search_clause``); the others sort every match.
INDEXED_ORDERS = {"last_message", "created"}
SORTABLE: dict[str, Any] = {
    "last_message": Conversation.last_message_at,
    "created": Conversation.created_at,
    "status": Conversation.status,
    "first_response": Conversation.time_to_first_response_seconds,
    "number": Conversation.contact_number,
    "sla": Conversation.sla_due_at,
}


def chosen_columns(user: User) -> list[str]:
    columns = (user.preferences or {}).get("list_columns")
    if isinstance(columns, list):
        return [c for c in columns if c in COLUMNS]
    return list(DEFAULT_COLUMNS)


def _ordered(stmt: Select[Any], order: str, desc: bool) -> Select[Any]:
    column = SORTABLE.get(order, Conversation.last_message_at)
    if order == "sla":  # conversations without a deadline last, either way
        return stmt.order_by(column.is_(None), column.desc() if desc else column.asc(),
                             Conversation.id.desc())  # fmt: skip
    return stmt.order_by(column.desc() if desc else column.asc(), Conversation.id.desc())


@router.get("")
def list_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    view: str | None = None,
    inbox: str | None = None,
    q: str = "",
    tag: str = "",
    order: str = "last_message",
    dir: str = "desc",
    page: Annotated[int, Query(ge=1, le=MAX_INT // PAGE_SIZE)] = 1,
) -> Response:
    """The table (htmx: just the table block, for sort, paging, filters)."""
    query = list_query(view, None, inbox, q, tag)
    page = max(page, 1)
    desc = dir != "asc"
    total = count_conversations(session, user, query)
    walk = order in INDEXED_ORDERS or order not in SORTABLE
    stmt = _ordered(filtered(session, user, query, walk=walk), order, desc)
    rows = conversation_rows(session, user, stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
    pages = max(1, -(-total.value // PAGE_SIZE))
    context = page_context(
        request,
        session,
        user,
        query=query,
        views=VIEW_LABELS,
        rows=rows,
        total=total.value,
        total_capped=total.capped,
        page=page,
        pages=pages,
        # Past a capped count, there is a next page while pages come back full.
        more=page < pages or (total.capped and len(rows) == PAGE_SIZE),
        order=order,
        desc=desc,
        columns=chosen_columns(user),
        all_columns=COLUMNS,
        sortable=set(SORTABLE),
        inboxes=visible_inboxes(session, user),
        users=assignable_users(session),
        notice=request.query_params.get("notice"),
    )
    return render(request, "list.html", context, block="table")


@router.post("/columns", dependencies=[CsrfProtected])
def save_columns(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    columns: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Remember which columns this user wants."""
    chosen = [c for c in (columns or []) if c in COLUMNS]
    user.preferences = {**(user.preferences or {}), "list_columns": chosen}
    session.commit()
    return Response(status_code=204, headers={"HX-Refresh": "true"})


@router.post("/bulk", dependencies=[CsrfProtected])
def bulk(
    request: Request,
    session: SessionDep,
    commit: CommitDep,
    user: CurrentUser,
    action: Annotated[str, Form()],
    ids: Annotated[list[DbId] | None, Form()] = None,
    assignee_id: Annotated[str, Form()] = "",
    inbox_id: Annotated[str, Form()] = "",
) -> Response:
    """Apply one action to the ticked conversations; report what was done and what was not."""
    if action not in ("close", "reopen", "assign", "move"):
        raise HTTPException(status_code=422, detail=f"Unknown bulk action {action!r}")
    if not ids:
        raise HTTPException(status_code=422, detail="Tick at least one conversation")
    if action == "move" and parse_id(inbox_id) is None:
        raise HTTPException(status_code=422, detail="Pick an inbox to move to")
    if action == "move" and int(inbox_id) not in {i.id for i in visible_inboxes(session, user)}:
        raise HTTPException(status_code=403, detail="You cannot move conversations to that inbox")
    done: list[int] = []
    skipped = 0
    for conversation_id in ids[:500]:
        conversation = get_conversation(session, user, conversation_id)
        try:
            with session.begin_nested():
                if action == "close":
                    actions.close(session, conversation=conversation, actor_id=user.id)
                elif action == "reopen":
                    actions.reopen(session, conversation=conversation, actor_id=user.id)
                elif action == "assign":
                    target = parse_id(assignee_id)
                    if target == conversation.assignee_id:
                        raise actions.ConversationActionError("already assigned")
                    actions.assign(
                        session, conversation=conversation, assignee_id=target, actor_id=user.id
                    )
                else:
                    if int(inbox_id) == conversation.inbox_id:
                        raise actions.ConversationActionError("already there")
                    actions.move(
                        session, conversation=conversation, inbox_id=int(inbox_id), actor_id=user.id
                    )
            done.append(conversation.id)
        except actions.ConversationActionError:
            skipped += 1  # e.g. closing one that is closed already: leave it, report it
    commit()
    notice = f"{action.capitalize()}: {len(done)} done" + (
        f", {skipped} skipped" if skipped else ""
    )
    return Response(status_code=204, headers={"HX-Trigger": _notice_trigger(notice)})


def _notice_trigger(text: str) -> str:
    return json.dumps({"list-refresh": True, "notice": text})
