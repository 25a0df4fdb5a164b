"""A stand-in for Twilio's REST API, plugged in as the twilio library's HTTP client."""

from __future__ import annotations

import json
import threading
import uuid
from base64 import b64encode
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from twilio.http import HttpClient
from twilio.http.response import Response

from inbox.models import utcnow


class FakeTwilioHttp(HttpClient):  # type: ignore[misc]  # twilio ships no types
    """Keeps the messages "Twilio" created. ``fail_next`` makes the next create fail: ``timeout``
    after Twilio took the message (the ambiguous case), or an HTTP status before it did.
    ``numbers`` are the account's incoming phone numbers; ``fail_numbers`` makes listing them
    fail: ``timeout``, or an HTTP status."""

    def __init__(self) -> None:
        super().__init__(logger=None, is_async=False)
        self.messages: list[dict[str, Any]] = []
        self.creates = 0
        self.lists = 0
        # (method, path) of each request that came over HTTP (:func:`serve_fake_twilio`).
        self.requests: list[tuple[str, str]] = []
        self.fail_next: str | int | None = None
        self.numbers: list[str] = []
        self.fail_numbers: str | int | None = None
        # Called with each created message before the create call returns (a status callback
        # that races the sender).
        self.on_create: Callable[[dict[str, Any]], None] | None = None
        # Media Twilio keeps for inbound MMS, by path: (content type, bytes), served over HTTP
        # (:func:`serve_fake_twilio`) only with the account's basic auth, as Twilio does;
        # ``redirects`` answer a path with a 307 to another URL (Twilio's CDN hop).
        self.media: dict[str, tuple[str, bytes]] = {}
        self.redirects: dict[str, str] = {}
        self.media_auth: tuple[str, str] = ("", "")
        # (path, Authorization header or "") of each media request.
        self.media_requests: list[tuple[str, str]] = []
        self.error_body: dict[str, Any] = {
            "code": 21211,
            "message": "The 'To' number is not valid.",
        }

    def request(
        self,
        method,
        uri,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        if method.upper() == "POST" and uri.endswith("/Messages.json"):
            return self._create(dict(data or {}))
        if method.upper() == "GET" and uri.endswith("/Messages.json"):
            self.lists += 1
            found = [
                m
                for m in reversed(self.messages)
                if m["to"] == (params or {}).get("To") and m["from"] == (params or {}).get("From")
            ]
            return Response(200, json.dumps({"messages": found, "next_page_uri": None}))
        if method.upper() == "GET" and uri.endswith("/IncomingPhoneNumbers.json"):
            return self._numbers(params or {})
        raise AssertionError(f"unexpected Twilio call {method} {uri}")

    def _numbers(self, params: dict[str, Any]) -> Response:
        if self.fail_numbers == "timeout":
            raise requests.Timeout("read timed out")
        if isinstance(self.fail_numbers, int):
            status = self.fail_numbers
            return Response(status, json.dumps({**self.error_body, "status": status}))
        size = int(params.get("PageSize", 50))
        records = [
            {"sid": f"PN{i:032x}", "phone_number": number, "friendly_name": number}
            for i, number in enumerate(self.numbers[:size])
        ]
        return Response(200, json.dumps({"incoming_phone_numbers": records, "next_page_uri": None}))

    def _create(self, data: dict[str, Any]) -> Response:
        self.creates += 1
        failure, self.fail_next = self.fail_next, None
        if isinstance(failure, int):
            return Response(failure, json.dumps({**self.error_body, "status": failure}))
        record = {
            "sid": f"SM{uuid.uuid4().hex}",
            "to": data["To"],
            "from": data["From"],
            "body": data["Body"],
            "status": "queued",
            "status_callback": data.get("StatusCallback"),
            "media_url": data.get("MediaUrl"),
            "date_created": format_datetime(utcnow()),
        }
        self.messages.append(record)
        if self.on_create is not None:
            self.on_create(record)
        if failure == "timeout":
            raise requests.Timeout("read timed out")
        return Response(201, json.dumps(record))


# Form fields Twilio's API takes more than once; the library sends them as lists.
_REPEATED = {"MediaUrl"}


def _form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    form: dict[str, Any] = {}
    for key, value in pairs:
        if key in _REPEATED:
            form.setdefault(key, []).append(value)
        else:
            form[key] = value
    return form


@contextmanager
def serve_fake_twilio(fake: FakeTwilioHttp) -> Iterator[str]:
    """``fake`` behind a real HTTP server on 127.0.0.1 (for code that reaches Twilio over the
    network, through ``INBOX_TWILIO_BASE_URL``); yields its base URL. Each request is recorded
    in ``fake.requests`` as (method, path)."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            fake.requests.append((method, url.path))
            if method == "GET" and (url.path in fake.media or url.path in fake.redirects):
                self._media(url.path)
                return
            response = fake.request(
                method,
                f"http://{self.headers['Host']}{url.path}",
                params=_form(parse_qsl(url.query)),
                data=_form(parse_qsl(body)),
            )
            payload = response.text.encode()
            self.send_response(response.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _media(self, path: str) -> None:
            given = self.headers.get("Authorization", "")
            fake.media_requests.append((path, given))
            if path in fake.redirects:
                self.send_response(307)
                self.send_header("Location", fake.redirects[path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            expected = "Basic " + b64encode(":".join(fake.media_auth).encode()).decode()
            content_type, payload = fake.media[path]
            if given != expected:
                content_type, payload = "application/json", b'{"code": 20003}'
            self.send_response(200 if given == expected else 401)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, format: str, *args: Any) -> None:  # quiet in test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
