"""A fake Twilio REST API over HTTP, for the production drill (``bench/drill.py``).

It answers the calls the Twilio provider makes (create a message, list messages between two
numbers for reconciliation, list the account's numbers), checks the account's basic auth,
keeps every message it was asked to create (the drill counts auto-replies here), and queues a
``delivered`` status callback for each, which the drill posts to the web processes signed as
Twilio signs it. A share of the create calls is answered by closing the connection after the
message was taken: the ambiguous case, which the provider must reconcile (``find_sent``)
instead of sending twice.
"""

from __future__ import annotations

import base64
import json
import queue
import random
import threading
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


class FakeTwilio:
    """The fake API on 127.0.0.1 (``url``) for one account."""

    def __init__(
        self, account_sid: str, auth_token: str, *, drop_share: float = 0.0, seed: int | None = None
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.drop_share = drop_share
        self.messages: list[dict[str, Any]] = []
        self.creates = 0  # create calls, retries included
        self.dropped = 0  # create calls whose answer was cut off after the message was taken
        self.lists = 0  # reconciliation look-ups
        # (status callback URL, form fields) for the drill to post.
        self.callbacks: queue.Queue[tuple[str, dict[str, str]]] = queue.Queue()
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeTwilio:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bodies(self) -> list[str]:
        with self._lock:
            return [m["body"] for m in self.messages]

    # -- the API -------------------------------------------------------------------------------

    def _authorised(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def create(self, form: dict[str, str]) -> tuple[dict[str, Any], bool]:
        """Take a message; returns it and whether to cut the answer off."""
        record = {
            "sid": f"SM{uuid.uuid4().hex}",
            "account_sid": self.account_sid,
            "to": form.get("To", ""),
            "from": form.get("From", ""),
            "body": form.get("Body", ""),
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "date_created": format_datetime(datetime.now(UTC), usegmt=True),
            "uri": "",
        }
        with self._lock:
            self.creates += 1
            self.messages.append(record)
            drop = self._rng.random() < self.drop_share
            self.dropped += drop
        callback = form.get("StatusCallback")
        if callback:
            self.callbacks.put(
                (
                    callback,
                    {
                        "MessageSid": record["sid"],
                        "SmsSid": record["sid"],
                        "AccountSid": self.account_sid,
                        "MessageStatus": "delivered",
                        "To": record["to"],
                        "From": record["from"],
                    },
                )
            )
        return record, drop

    def find(self, params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            self.lists += 1
            found = [
                m
                for m in reversed(self.messages)
                if m["to"] == params.get("To") and m["from"] == params.get("From")
            ]
        size = int(params.get("PageSize", "50"))
        return {"messages": found[:size], "next_page_uri": None, "page": 0, "page_size": size}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the drill reports the counts

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _checked(self) -> bool:
                if fake._authorised(self.headers.get("Authorization")):
                    return True
                self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return False

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                if not self._checked():
                    return
                if not urlsplit(self.path).path.endswith("/Messages.json"):
                    self._answer(404, {"code": 20404, "message": "not found", "status": 404})
                    return
                record, drop = fake.create(form)
                if drop:
                    # Taken, but the answer never arrives: the connection just closes.
                    self.close_connection = True
                    return
                self._answer(201, record)

            def do_GET(self) -> None:
                if not self._checked():
                    return
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query))
                if parts.path.endswith("/Messages.json"):
                    self._answer(200, fake.find(params))
                elif parts.path.endswith("/IncomingPhoneNumbers.json"):
                    self._answer(200, {"incoming_phone_numbers": [], "next_page_uri": None})
                else:
                    self._answer(404, {"code": 20404, "message": "not found", "status": 404})

        return Handler
