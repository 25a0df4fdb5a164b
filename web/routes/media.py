"""MMS images: the timeline's thumbnails (with the agent's session) and the files we send
(public, for the provider to fetch).

``/inbox/{conversation}/media/{message}/{index}`` checks that the agent may see the
conversation (404 otherwise, as for the conversation itself), then serves the image from the
data folder or fetches it from the provider with its credentials (:mod:`inbox.media_fetch`).
``/media/files/{name}`` serves a file we stored for an outbound MMS: Twilio fetches it with no
session, so its random 128-bit name is what keeps it private.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from api.deps import SessionDep, SettingsDep
from inbox.limits import DbId
from inbox.media import IMAGE_TYPES, stored_file
from inbox.media_fetch import MediaUnavailable, fetch_media
from inbox.models import Message
from web.auth import CurrentUser
from web.queries import get_conversation

router = APIRouter(tags=["web"])

# A message's media never change: the browser may keep them (private: never a shared cache).
CACHE = "private, max-age=86400, immutable"
# What a stored image is served with: an image is never a page, whatever it holds.
IMAGE_HEADERS = {"Cache-Control": CACHE, "Content-Security-Policy": "default-src 'none'"}
MAX_INDEX = 9  # Twilio allows ten media per message


@router.get("/inbox/{conversation_id}/media/{message_id}/{index}")
def message_media(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    conversation_id: DbId,
    message_id: DbId,
    index: int,
) -> Response:
    """Image ``index`` of a message in a conversation the agent may see."""
    conversation = get_conversation(session, user, conversation_id)
    message = session.get(Message, message_id)
    if message is None or message.conversation_id != conversation.id:
        raise HTTPException(404, "Message not found")
    if not 0 <= index < min(len(message.media), MAX_INDEX + 1):
        raise HTTPException(404, "The message has no such image")
    item = message.media[index]
    session.close()  # the fetch below may take seconds: hold no database connection meanwhile
    if item.get("file"):
        found = stored_file(settings, str(item["file"]))
        if found is None:
            raise HTTPException(404, "The image is no longer kept")
        path, content_type = found
        return FileResponse(path, media_type=content_type, headers=IMAGE_HEADERS)
    content_type = str(item.get("content_type") or "").split(";")[0].lower()
    if content_type and content_type not in IMAGE_TYPES:
        raise HTTPException(415, "This attachment is not an image the inbox shows")
    try:
        data, content_type = fetch_media(settings, str(item.get("url") or ""))
    except MediaUnavailable as exc:
        raise HTTPException(exc.status, str(exc)) from exc
    return Response(data, media_type=content_type, headers=IMAGE_HEADERS)


@router.get("/media/files/{file_name}")
def stored_media(settings: SettingsDep, file_name: str) -> Response:
    """A file stored for an outbound MMS (the provider fetches it with no session)."""
    found = stored_file(settings, file_name)
    if found is None:
        raise HTTPException(404, "Not found")
    path, content_type = found
    return FileResponse(path, media_type=content_type, headers=IMAGE_HEADERS)
