"""Fetch an inbound MMS image from the provider, for an agent's browser that cannot.

Twilio's media URLs need the account's credentials (HTTP basic auth) and answer with a
redirect to a short-lived signed URL on its CDN. So: only URLs at Twilio's API origin (or
``INBOX_TWILIO_BASE_URL``'s) are fetched; the credentials go to that origin only; a redirect
to any other origin is followed only over https and without credentials, at most three times.
The answer must be an allowed image type and at most :data:`inbox.media.MAX_MEDIA_BYTES`
(read in chunks, never more than the cap plus one chunk held).
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import httpx

from inbox.media import IMAGE_TYPES, MAX_MEDIA_BYTES
from inbox.settings import Settings

MAX_REDIRECTS = 3
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
TWILIO_API = "https://api.twilio.com"


class MediaUnavailable(Exception):
    """The image could not be fetched or is not one the inbox shows; ``status`` is the HTTP
    status to answer with (404 for a URL the inbox will not fetch, 502 for the provider)."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def provider_origins(settings: Settings) -> set[str]:
    return {_origin(TWILIO_API), _origin(settings.twilio_base_url)}


def fetch_media(
    settings: Settings, url: str, *, transport: httpx.BaseTransport | None = None
) -> tuple[bytes, str]:
    """The bytes and content type of the provider's image at ``url``."""
    trusted = provider_origins(settings)
    if _origin(url) not in trusted:
        raise MediaUnavailable("the image is not at the provider", 404)
    try:
        return _fetch(settings, url, trusted, transport)
    except httpx.HTTPError as exc:
        raise MediaUnavailable(f"the provider could not be reached: {type(exc).__name__}") from exc


def _fetch(
    settings: Settings, url: str, trusted: set[str], transport: httpx.BaseTransport | None
) -> tuple[bytes, str]:
    credentials = (settings.twilio_account_sid, settings.twilio_auth_token)
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False, transport=transport) as client:
        for _ in range(MAX_REDIRECTS + 1):
            at_provider = _origin(url) in trusted
            with client.stream("GET", url, auth=credentials if at_provider else None) as response:
                if response.is_redirect:
                    target = urljoin(url, response.headers.get("location", ""))
                    if _origin(target) not in trusted and urlsplit(target).scheme != "https":
                        raise MediaUnavailable("the provider redirected to a plain http address")
                    url = target
                    continue
                if response.status_code != 200:
                    raise MediaUnavailable(f"the provider answered {response.status_code}")
                content_type = response.headers.get("content-type", "").split(";")[0].strip()
                if content_type.lower() not in IMAGE_TYPES:
                    raise MediaUnavailable(f"the provider's file is {content_type or 'untyped'}")
                return _read_capped(response), content_type.lower()
    raise MediaUnavailable("the provider redirected too many times")


def _read_capped(response: httpx.Response) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_MEDIA_BYTES:
        raise MediaUnavailable("the provider's file is larger than the MMS limit")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_MEDIA_BYTES:
            raise MediaUnavailable("the provider's file is larger than the MMS limit")
        chunks.append(chunk)
    return b"".join(chunks)
