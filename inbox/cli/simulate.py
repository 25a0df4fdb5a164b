"""``inbox simulate``: text the running inbox as a contact, and read the simulator's outbox.

``simulate text`` posts a Twilio-format webhook signed with the configured auth token to
``INBOX_PUBLIC_URL/webhooks/twilio/sms``: the very path a real provider takes.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx

from inbox.phone import InvalidNumber, normalize_number
from inbox.providers.simulator import new_sid
from inbox.providers.twilio import INBOUND_PATH, SIGNATURE_HEADER, compute_signature
from inbox.settings import Settings, get_settings

_TIMEOUT_SECONDS = 15.0


def register(subparsers: Any) -> None:
    """Add ``inbox simulate text`` and ``inbox simulate outbox`` to the CLI."""
    simulate = subparsers.add_parser("simulate", help="text the inbox as a contact (simulator)")
    commands = simulate.add_subparsers(dest="simulate_command", required=True)

    text = commands.add_parser("text", help="send an SMS to a channel number as a contact")
    text.add_argument("--from", dest="from_number", required=True, help="the contact's number")
    text.add_argument("--to", dest="to_number", required=True, help="the channel's number")
    text.add_argument("--media", action="append", default=[], help="a media URL (repeatable)")
    text.add_argument("body", nargs="+", help="the message text")
    text.set_defaults(func=_text)

    outbox = commands.add_parser("outbox", help="print what the simulator delivered to phones")
    outbox.add_argument("--number", help="only this contact number's messages")
    outbox.set_defaults(func=_outbox)


def webhook_params(
    *,
    settings: Settings,
    from_number: str,
    to_number: str,
    body: str,
    media: list[str] | None = None,
    sid: str | None = None,
) -> dict[str, str]:
    """The form fields Twilio posts for an inbound SMS."""
    params = {
        "MessageSid": sid or new_sid(),
        "AccountSid": settings.twilio_account_sid,
        "From": from_number,
        "To": to_number,
        "Body": body,
        "NumMedia": str(len(media or [])),
    }
    for index, url in enumerate(media or []):
        params[f"MediaUrl{index}"] = url
    return params


def signed_webhook(settings: Settings, params: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The URL and headers of a correctly signed inbound-SMS webhook for ``params``."""
    url = settings.public_url.rstrip("/") + INBOUND_PATH
    signature = compute_signature(settings.twilio_auth_token, url, params)
    return url, {SIGNATURE_HEADER: signature}


def _text(args: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        from_number = normalize_number(args.from_number)
        to_number = normalize_number(args.to_number)
    except InvalidNumber as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    params = webhook_params(
        settings=settings,
        from_number=from_number,
        to_number=to_number,
        body=" ".join(args.body),
        media=args.media,
    )
    url, headers = signed_webhook(settings, params)
    try:
        response = httpx.post(url, data=params, headers=headers, timeout=_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        print(f"error: could not reach {url}: {exc} (is `inbox dev` running?)", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"error: {url} answered {response.status_code}: {response.text}", file=sys.stderr)
        return 1
    print(f"sent {params['MessageSid']} from {from_number} to {to_number}")
    return 0


def _outbox(args: argparse.Namespace) -> int:
    settings = get_settings()
    url = settings.public_url.rstrip("/") + "/simulator/api/messages"
    query = {"number": args.number} if args.number else {}
    try:
        response = httpx.get(url, params=query, timeout=_TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        print(f"error: could not reach {url}: {exc} (is `inbox dev` running?)", file=sys.stderr)
        return 1
    if response.status_code == 404:
        print("error: the simulator is off (INBOX_SMS_PROVIDER is not simulator)", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"error: {url} answered {response.status_code}: {response.text}", file=sys.stderr)
        return 1
    messages = response.json()["messages"]
    if not messages:
        print("no messages")
    for item in messages:
        arrow = "->" if item["direction"] == "outbound" else "<-"
        contact = item["to"] if item["direction"] == "outbound" else item["from"]
        channel = item["from"] if item["direction"] == "outbound" else item["to"]
        print(f"{item['created_at'][:19]}  {channel} {arrow} {contact}  [{item['status']}]")
        print(f"    {item['body']}")
    return 0
