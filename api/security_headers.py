"""Security headers on every response (a pure ASGI middleware, so streamed responses such as
the live event stream are not buffered).

The Content-Security-Policy lets a page run only the app's own scripts and styles, loaded
from ``/static`` (no inline ``<script>``, ``style=`` or ``on*=`` handlers anywhere), connect
only to the app, and be framed by nobody. Images come from the app (MMS thumbnails too: they
are served through it, ``web/routes/media.py``) and ``data:`` (the empty favicon). A response
that sets its own policy (the API docs pages) keeps it.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
BASE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# Two years, subdomains included: only in production, where the app is served over TLS (a
# browser that saw it for a development address would refuse plain http there for years).
HSTS = "max-age=63072000; includeSubDomains"


class SecurityHeaders:
    """Adds :data:`BASE_HEADERS` (and HSTS when ``hsts``) to every HTTP response."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.headers = {**BASE_HEADERS, **({"Strict-Transport-Security": HSTS} if hsts else {})}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
