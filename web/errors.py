"""Error pages for people: a refused or missing page in the web inbox answers an HTML page
with the reason and a way back, never the raw JSON the API answers.

Only a browser's page load gets the page (``Accept: text/html``, not an htmx request): htmx
requests keep the JSON body, whose ``detail`` ``app.js`` shows as a toast, and the API, the
webhooks and the service endpoints answer as before."""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from web.templating import templates

# Paths whose callers are programs: they always get the JSON (or plain) answer.
MACHINE_PREFIXES = ("/api/", "/webhooks/", "/openapi.json", "/healthz", "/readyz", "/metrics")

TITLES = {
    400: "That request is not right",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "That cannot be done now",
    413: "Too large",
    422: "That request is not right",
}


def wants_page(request: Request) -> bool:
    return (
        "text/html" in request.headers.get("accept", "")
        and request.headers.get("HX-Request") != "true"
        and not request.url.path.startswith(MACHINE_PREFIXES)
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not wants_page(request) or exc.status_code < 400 or exc.status_code >= 500:
        return await http_exception_handler(request, exc)
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
    if exc.status_code == 404 and detail == "Not Found":
        detail = "There is no page at this address."
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "title": TITLES.get(exc.status_code, "Something went wrong"),
            "detail": detail,
            "status_code": exc.status_code,
        },
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )
