"""Bearer API-key authentication for the JSON API (``Authorization: Bearer inbx_...``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import SessionDep
from inbox.models import ApiKey
from inbox.services.api_keys import authenticate

# auto_error=False: we answer 401 (with WWW-Authenticate) ourselves for every failure, where
# FastAPI's default would answer 403 for a missing header. The scheme documents itself in
# OpenAPI as "HTTPBearer".
bearer_scheme = HTTPBearer(
    auto_error=False,
    bearerFormat="inbx_<prefix>_<secret>",
    description="An API key created by an admin: `Authorization: Bearer inbx_...`.",
)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def require_api_key(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> ApiKey:
    """The caller's API key; 401 when it is missing, unknown or revoked."""
    if credentials is None:
        raise _unauthorized("missing bearer API key (Authorization: Bearer inbx_...)")
    api_key = authenticate(session, credentials.credentials)
    if api_key is None:
        raise _unauthorized("invalid or revoked API key")
    # Persist a touched last_used_at now, whatever the route does with its transaction.
    session.commit()
    return api_key


ApiKeyDep = Annotated[ApiKey, Depends(require_api_key)]
