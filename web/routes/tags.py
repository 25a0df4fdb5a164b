"""Tag suggestions for the tag inputs (the header's "add a tag", the views' tag filter): the
tags already used on conversations the agent may see, as ``<option>``s for a ``<datalist>``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SessionDep
from inbox.services import tags
from web.auth import CurrentUser
from web.queries import scope
from web.templating import render

router = APIRouter(prefix="/tags", tags=["web"])


@router.get("/suggest")
def suggest(request: Request, session: SessionDep, user: CurrentUser, tag: str = "") -> Response:
    """Up to 20 tags in use starting with what was typed (all of them for an empty input)."""
    found = tags.tags_in_use(session, scope(session, user), prefix=tag[:100])
    return render(request, "partials/tag_options.html", {"tags": found})
