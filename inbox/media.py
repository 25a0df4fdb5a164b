"""MMS images kept in the data folder: the composer's attachments and the simulator's pictures.

A file is stored under a random name (128 bits: the name is the capability, since a provider
must fetch an outbound image without our session) in ``INBOX_DATA_DIR/media/``. Only images
MMS carries everywhere are taken (JPEG, PNG, GIF, WebP: never SVG, which can hold script), and
the type is read from the file's first bytes, not from what the browser claimed. The cap is
Twilio's 5 MB per message.

A stored item in ``Message.media`` is ``{"url", "content_type", "file"}``: ``url`` is what the
provider fetches, ``file`` the local name the inbox serves the thumbnail from. Inbound media
from Twilio have no ``file``: they stay at Twilio and are fetched with its credentials
(:mod:`inbox.media_fetch`).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import IO, Any

from inbox.settings import Settings

MAX_MEDIA_BYTES = 5 * 1024 * 1024
# Content type -> file extension.
IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
FILE_NAME = re.compile(r"^[0-9a-f]{32}\.(?:jpg|png|gif|webp)$")
PUBLIC_PATH = "/media/files"


class MediaRefused(ValueError):
    """A file the inbox will not keep; ``status`` is the HTTP status that says why (413 too
    large, 415 not an allowed image, 422 empty)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def sniff_image_type(data: bytes) -> str | None:
    """The image type ``data`` starts like, when it is one of :data:`IMAGE_TYPES`."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def media_dir(settings: Settings) -> Path:
    return settings.data_dir / "media"


def check_image(data: bytes) -> str:
    """The content type of ``data``; :class:`MediaRefused` when it may not be sent."""
    if not data:
        raise MediaRefused("the attached file is empty", 422)
    if len(data) > MAX_MEDIA_BYTES:
        raise MediaRefused(
            f"the image is larger than {MAX_MEDIA_BYTES // (1024 * 1024)} MB, the MMS limit",
            413,
        )
    content_type = sniff_image_type(data)
    if content_type is None:
        raise MediaRefused("only JPEG, PNG, GIF and WebP images can be sent", 415)
    return content_type


def read_upload(file: IO[bytes]) -> bytes:
    """An uploaded file's bytes, read no further than one byte past the cap (so a huge file
    is refused as too large without being held whole)."""
    return file.read(MAX_MEDIA_BYTES + 1)


def store_image(settings: Settings, data: bytes) -> dict[str, Any]:
    """Keep ``data`` (checked by :func:`check_image`) and return its ``Message.media`` item."""
    content_type = check_image(data)
    name = f"{secrets.token_hex(16)}.{IMAGE_TYPES[content_type]}"
    folder = media_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    url = f"{settings.public_url.rstrip('/')}{PUBLIC_PATH}/{name}"
    return {"url": url, "content_type": content_type, "file": name}


def stored_file(settings: Settings, name: str) -> tuple[Path, str] | None:
    """The path and content type of a stored file, or None for a name that is not one (a
    name of any other shape never reaches the file system)."""
    if not FILE_NAME.match(name):
        return None
    path = media_dir(settings) / name
    if not path.is_file():
        return None
    extension = name.rsplit(".", 1)[1]
    content_type = next(t for t, ext in IMAGE_TYPES.items() if ext == extension)
    return path, content_type


def discard_image(settings: Settings, item: dict[str, Any]) -> None:
    """Delete the stored file of a media item that was never sent."""
    found = stored_file(settings, str(item.get("file") or ""))
    if found is not None:
        found[0].unlink(missing_ok=True)
