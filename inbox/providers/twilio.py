"""Twilio: sending through its REST API, reconciling ambiguous sends, and checking webhook
signatures exactly as Twilio computes them."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from inbox.models import MessageStatus
from inbox.providers.base import (
    OutboundSms,
    ProviderRejected,
    ProviderUnavailable,
    SendResult,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
STATUS_CALLBACK_PATH = "/webhooks/twilio/status"
INBOUND_PATH = "/webhooks/twilio/sms"

# Twilio's message statuses in ours. "accepted"/"scheduled" are still on Twilio's side of the
# hand-over; "read" (WhatsApp/RCS) implies delivered; "canceled" never went out.
_STATUS_MAP = {
    "accepted": MessageStatus.QUEUED,
    "scheduled": MessageStatus.QUEUED,
    "queued": MessageStatus.QUEUED,
    "sending": MessageStatus.SENDING,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.UNDELIVERED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}

# Reconciliation looks at this many recent messages between the two numbers; Twilio's clock and
# ours may differ by a few seconds.
_RECONCILE_LIMIT = 50
_CLOCK_SKEW = timedelta(seconds=30)
_HTTP_TIMEOUT_SECONDS = 15.0
DEFAULT_BASE_URL = "https://api.twilio.com"
# One page of Twilio's maximum size: more numbers than this on one account is not a settings
# form's job (and a select of them would be unusable).
_NUMBERS_LIMIT = 1000


def map_status(twilio_status: str) -> MessageStatus | None:
    """Our status for a Twilio ``MessageStatus`` value, or None for one we do not know."""
    return _STATUS_MAP.get(twilio_status.strip().lower())


def public_request_url(public_url: str, path: str, query: str = "") -> str:
    """The URL Twilio called, as Twilio saw it: our public base URL (the TLS-terminating proxy's
    address, not the one this process listens on) plus the request path and query string."""
    url = public_url.rstrip("/") + path
    return f"{url}?{query}" if query else url


def compute_signature(auth_token: str, url: str, params: Mapping[str, Any]) -> str:
    """The ``X-Twilio-Signature`` Twilio would send for a form POST of ``params`` to ``url``."""
    signature: str = RequestValidator(auth_token).compute_signature(url, params)
    return signature


def validate_signature(
    auth_token: str, url: str, params: Mapping[str, Any], signature: str | None
) -> bool:
    """Whether ``signature`` is Twilio's HMAC-SHA1 of ``url`` plus the sorted form ``params``.

    ``params`` may be a multi-dict (``getlist``), for repeated form keys.
    """
    if not signature:
        return False
    valid: bool = RequestValidator(auth_token).validate(url, params, signature)
    return valid


def _error_from(exc: Exception) -> ProviderRejected | ProviderUnavailable:
    """Twilio's REST errors in our two kinds: the request was wrong, or try again later."""
    if isinstance(exc, TwilioRestException):
        status, code, msg = int(exc.status or 0), exc.code, str(exc.msg)
    elif len(exc.args) == 2 and isinstance(exc.args[1], TwilioResponse):
        # Listing (``.list()``) reports an HTTP error as TwilioException("Unable to fetch
        # page", response) rather than TwilioRestException: read the same fields from the body.
        status, code, msg = _page_error(exc.args[1])
    else:
        return ProviderUnavailable(f"Twilio unreachable: {exc.__class__.__name__}: {exc}")
    # 408 (timeout) and 429 (rate limit) clear up on their own; other 4xx will not.
    if 400 <= status < 500 and status not in (408, 429):
        return ProviderRejected(str(code if code is not None else status), msg or f"HTTP {status}")
    return ProviderUnavailable(f"Twilio answered HTTP {status}: {msg}")


def _page_error(response: TwilioResponse) -> tuple[int, Any, str]:
    """Status, Twilio error code and message of a failed list request."""
    try:
        body = json.loads(response.text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return response.status_code, None, str(response.text or "")[:200]
    return response.status_code, body.get("code"), str(body.get("message") or "")


class TwilioProvider:
    """Sends through Twilio's Programmable Messaging REST API."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        public_url: str,
        base_url: str = DEFAULT_BASE_URL,
        http_client: HttpClient | None = None,
    ) -> None:
        self._client = Client(
            account_sid,
            auth_token,
            http_client=http_client or TwilioHttpClient(timeout=_HTTP_TIMEOUT_SECONDS),
        )
        # Messages and phone numbers both live on the library's ``api`` domain (the 2010 API);
        # its base address is the one place the library names the host.
        self._client.api.base_url = base_url.rstrip("/")
        self._status_callback = public_url.rstrip("/") + STATUS_CALLBACK_PATH

    def send(self, sms: OutboundSms) -> SendResult:
        """Create the message at Twilio; its status callbacks come to our status webhook."""
        kwargs: dict[str, Any] = {
            "to": sms.to_number,
            "from_": sms.from_number,
            "body": sms.body,
            "status_callback": self._status_callback,
        }
        if sms.media_urls:
            kwargs["media_url"] = list(sms.media_urls)
        try:
            created = self._client.messages.create(**kwargs)
        except (TwilioException, requests.RequestException, OSError) as exc:
            raise _error_from(exc) from exc
        return SendResult(provider_message_id=str(created.sid), status=MessageStatus.SENT)

    def find_sent(self, sms: OutboundSms) -> SendResult | None:
        """Twilio takes no idempotency key, so find the message an ambiguous attempt may have
        created: same numbers, same body, created since our row, not claimed by another row."""
        try:
            recent: Sequence[Any] = self._client.messages.list(
                to=sms.to_number, from_=sms.from_number, limit=_RECONCILE_LIMIT
            )
        except (TwilioException, requests.RequestException, OSError) as exc:
            raise _error_from(exc) from exc
        since = sms.created_at - _CLOCK_SKEW
        # Twilio lists newest first; the oldest match is the one our first attempt created.
        for item in reversed(list(recent)):
            sid = str(item.sid)
            if sid in sms.claimed_ids or item.body != sms.body:
                continue
            if item.date_created is not None and item.date_created < since:
                continue
            status = map_status(str(item.status or "")) or MessageStatus.SENT
            log.info("reconciled message %s with Twilio message %s", sms.client_ref, sid)
            return SendResult(provider_message_id=sid, status=status)
        return None

    def list_numbers(self) -> list[str]:
        """The account's incoming phone numbers (E.164), as Twilio lists them."""
        try:
            owned: Sequence[Any] = self._client.incoming_phone_numbers.list(limit=_NUMBERS_LIMIT)
        except (TwilioException, requests.RequestException, OSError) as exc:
            raise _error_from(exc) from exc
        return [str(item.phone_number) for item in owned if item.phone_number]
