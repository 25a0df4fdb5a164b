"""The API's documentation: ``/openapi.json``, ``/docs`` (Swagger UI) and ``/redoc``.

Open in development. In production (``INBOX_ENVIRONMENT=production``) they need a signed-in
web user or a valid API key: the schema lists every route and field, which is a map for an
attacker and of no use to anyone without access. The two HTML pages load their viewer from
the app's own static files (vendored from npm: ``web/static/vendor/README.md``), never a CDN,
with one inline start-up script, so they carry their own Content-Security-Policy that allows
exactly that script (by its hash) and nothing else inline.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from api.auth import bearer_scheme
from api.deps import SessionDep, SettingsDep
from inbox.services.api_keys import authenticate
from web.auth import LoginRequired, signed_in_user

OPENAPI_URL = "/openapi.json"
VENDOR = "/static/vendor"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def docs_access(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    """Let anyone in outside production; in production a signed-in user or an API key.
    Refused: the pages send a browser to sign in, the schema answers 401."""
    if settings.environment != "production":
        return
    if signed_in_user(request, session) is not None:
        return
    if credentials is not None and authenticate(session, credentials.credentials) is not None:
        session.commit()  # last_used_at
        return
    if request.url.path == OPENAPI_URL:
        raise HTTPException(
            401, "sign in or send an API key to read the schema", {"WWW-Authenticate": "Bearer"}
        )
    raise LoginRequired(request.url.path)


DocsAccess = [Depends(docs_access)]


def _with_policy(page: HTMLResponse, *, extra_script: str = "", worker: str = "") -> HTMLResponse:
    """``page`` with a policy allowing its inline scripts (by hash) and nothing more."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(bytes(page.body).decode())
    ]
    policy = "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {' '.join(hashes)} {extra_script}".strip(),
            # Both viewers set styles from their scripts.
            "style-src 'self' 'unsafe-inline'",
            "font-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            *([f"worker-src {worker}"] if worker else []),
            "object-src 'none'",
            "frame-ancestors 'none'",
        ]
    )
    page.headers["Content-Security-Policy"] = policy
    return page


def mount_docs(app: FastAPI) -> None:
    """Serve the schema and the two viewers behind :func:`docs_access`."""
    router = APIRouter(include_in_schema=False)

    @router.get(OPENAPI_URL, dependencies=DocsAccess)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @router.get("/docs", dependencies=DocsAccess)
    def swagger() -> HTMLResponse:
        return _with_policy(
            get_swagger_ui_html(
                openapi_url=OPENAPI_URL,
                title=app.title,
                swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
                swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
                swagger_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
            )
        )

    @router.get("/redoc", dependencies=DocsAccess)
    def redoc() -> HTMLResponse:
        return _with_policy(
            get_redoc_html(
                openapi_url=OPENAPI_URL,
                title=app.title,
                redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
                redoc_favicon_url=f"{VENDOR}/swagger-ui/favicon-32x32.png",
                with_google_fonts=False,
            ),
            worker="blob:",
        )

    app.include_router(router)
