"""``GET /metrics`` (Prometheus text format) and the middleware that counts every request.

Requests are labelled by the route *template* the router matched
(``/api/v1/conversations/{conversation_id}``), never the raw path, so the number of series stays
bounded whatever ids and probes arrive; a request no route matched is ``<unmatched>``.

Who may scrape: the figures hold no personal data (counts, durations, rule names), so
``/metrics`` is public like ``/healthz`` unless ``INBOX_METRICS_TOKEN`` is set; then it wants
``Authorization: Bearer <token>`` (Prometheus' ``authorization`` scrape setting). Production
behind the proxy should set it or keep the path off the public site (docs/operations.md).
"""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import StateDep
from inbox import metrics

UNMATCHED = "<unmatched>"
STATIC = "/static"

router = APIRouter(tags=["health"])


def route_template(scope: Scope) -> str:
    """The template of the route that answered (set in the scope by the router)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if isinstance(template, str):
        return template
    if str(scope.get("path", "")).startswith(STATIC + "/"):
        return STATIC  # the static files mount (one series for every file)
    return UNMATCHED


class RequestMetrics:
    """Counts each HTTP request and times it to the end of its body (a pure ASGI middleware, so
    streams are not buffered)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            method = str(scope.get("method", ""))
            route = route_template(scope)
            metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            metrics.HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)


def _check_token(request: Request, token: str) -> None:
    if not token:
        return
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise HTTPException(401, "metrics need Authorization: Bearer <INBOX_METRICS_TOKEN>")


@router.get("/metrics", include_in_schema=False)
def scrape(request: Request, state: StateDep) -> Response:
    """Every metric of the web processes, and the outbox backlog read from the database."""
    _check_token(request, state.settings.metrics_token)
    registry = metrics.registry_for_scrape([metrics.RelayBacklog(state.sessions)])
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
