"""Bearer API-key authentication for the JSON API (``Authorization: Bearer inbx_...``), and
the key's scopes: read or read-write, every inbox or a chosen set."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import SessionDep
from inbox.models import ApiKey
from inbox.services.api_keys import authenticate
from inbox.services.visibility import Scope, scope_for_key

# auto_error=False: we answer 401 (with WWW-Authenticate) ourselves for every failure, where
# FastAPI's default would answer 403 for a missing header. The scheme documents itself in
# OpenAPI as "HTTPBearer".
bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="inbx_<prefix>_<secret>",
    description="An API key created by an admin: `Authorization: Bearer inbx_...`.",
)

# Methods that only read: a read-only key may use these and nothing else.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def require_api_key(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> ApiKey:
    """The caller's API key; 401 when it is missing, unknown or revoked, 403 when a read-only
    key asks to change something (decided by the method, so no write route can forget it)."""
    if credentials is None:
        raise _unauthorized("missing bearer API key (Authorization: Bearer inbx_...)")
    api_key = authenticate(session, credentials.credentials)
    if api_key is None:
        raise _unauthorized("invalid or revoked API key")
    # Persist a touched last_used_at now, whatever the route does with its transaction.
    session.commit()
    if request.method not in READ_METHODS and not api_key.can_write:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this API key is read-only")
    return api_key


ApiKeyDep = Annotated[ApiKey, Depends(require_api_key)]


def api_scope(session: SessionDep, api_key: ApiKeyDep) -> Scope:
    """The inboxes the caller's key may see (every query of the API is filtered by it)."""
    return scope_for_key(session, api_key)


ApiScope = Annotated[Scope, Depends(api_scope)]
