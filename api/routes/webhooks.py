"""Twilio-compatible webhooks: inbound SMS and delivery status callbacks.

Each request is checked in this order: size (413), signature (403), fields (400), routing
(404). Nothing is written unless every check passes. A 2xx means the message is stored: its
workflow signal sits in the outbox relay (same transaction) and goes to Temporal once the answer
is sent; if Temporal is down the relay delivers it later, and the answer is not held up.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import ImmutableMultiDict

from api.deps import Commit, CommitDep, SessionDep, StateDep
from api.form_values import error_fields
from api.state import AppState
from inbox import metrics
from inbox.phone import InvalidNumber
from inbox.providers.simulator import record_inbound
from inbox.providers.twilio import (
    SIGNATURE_HEADER,
    map_status,
    public_request_url,
    validate_signature,
)
from inbox.services.inbound import InboundResult, UnknownChannel, receive_and_commit
from inbox.services.outbound import apply_status_update

log = logging.getLogger(__name__)

router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
FORM_TYPE = "application/x-www-form-urlencoded"
# Twilio allows ten media items per message; Message SIDs are two letters and 32 hex digits, but
# accept any short id of word characters (other Twilio-compatible providers differ).
MAX_MEDIA = 10
_SID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

Form = ImmutableMultiDict[str, str]

# A refused webhook's outcome (inbox_webhook_requests_total), by the answer's status code.
_REFUSED = {
    400: "malformed",
    403: "bad_signature",
    404: "unknown_channel",
    413: "too_large",
    415: "unsupported_type",
}


@contextmanager
def _refusals_counted(webhook: str) -> Iterator[None]:
    """Count a webhook the checks refused (or that failed) by why; the caller counts success."""
    try:
        yield
    except HTTPException as exc:
        metrics.WEBHOOKS.labels(webhook, _REFUSED.get(exc.status_code, "refused")).inc()
        raise
    except Exception:
        metrics.WEBHOOKS.labels(webhook, "error").inc()
        raise


def _twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="text/xml")


async def _read_form(request: Request, limit: int) -> Form:
    """The form body, refusing anything over ``limit`` bytes before reading all of it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, "Content-Length must be a number")
        if int(declared) > limit:
            raise HTTPException(413, f"request body is over {limit} bytes")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise HTTPException(415, f"Content-Type must be {FORM_TYPE}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:  # a missing or false Content-Length
            raise HTTPException(413, f"request body is over {limit} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, "request body is not UTF-8") from exc
    return ImmutableMultiDict(parse_qsl(text, keep_blank_values=True))


def _verify_signature(request: Request, state: AppState, form: Form) -> None:
    """403 unless ``X-Twilio-Signature`` signs our public URL for this request and its form."""
    settings = state.settings
    url = public_request_url(settings.public_url, request.url.path, request.url.query)
    signature = request.headers.get(SIGNATURE_HEADER)
    if not validate_signature(settings.twilio_auth_token, url, form, signature):
        log.warning(
            "rejected %s: %s X-Twilio-Signature for %s",
            request.url.path,
            "invalid" if signature else "missing",
            url,
        )
        raise HTTPException(403, f"missing or invalid {SIGNATURE_HEADER}")


def _field(form: Form, name: str, *, allow_empty: bool = False) -> str:
    value = form.get(name)
    if value is None or (not allow_empty and not value.strip()):
        raise HTTPException(400, f"missing field {name}")
    return value


def _sid(form: Form, name: str) -> str:
    value = _field(form, name).strip()
    if not _SID.match(value):
        raise HTTPException(400, f"malformed field {name}: expected up to 64 letters and digits")
    return value


def _media(form: Form) -> list[dict[str, Any]]:
    raw = form.get("NumMedia", "0").strip() or "0"
    if not raw.isdigit() or int(raw) > MAX_MEDIA:
        raise HTTPException(400, f"malformed field NumMedia: expected 0 to {MAX_MEDIA}")
    media: list[dict[str, Any]] = []
    for index in range(int(raw)):
        url = _field(form, f"MediaUrl{index}")
        if not url.startswith(("https://", "http://")):
            raise HTTPException(400, f"malformed field MediaUrl{index}: expected an http(s) URL")
        item: dict[str, Any] = {"url": url}
        content_type = form.get(f"MediaContentType{index}")
        if content_type:
            item["content_type"] = content_type
        media.append(item)
    return media


def _store_inbound(
    state: AppState, session: Session, commit: Commit, **fields: Any
) -> InboundResult:
    """Store the message (retrying a lost race); with the simulator, note it on its phone."""
    provider = state.settings.sms_provider

    def on_the_phone(session: Session, result: InboundResult) -> None:
        if result.created:
            record_inbound(
                session,
                sid=fields["provider_message_id"],
                from_number=result.message.from_number,
                to_number=result.message.to_number,
                body=fields["body"],
                media=fields["media"],
            )

    also = on_the_phone if provider == "simulator" else None
    return receive_and_commit(session, commit, provider=provider, also=also, **fields)


async def accept_inbound(
    state: AppState,
    session: Session,
    commit: Commit,
    fields: dict[str, str],
    **message: Any,
) -> InboundResult:
    """Store an inbound text: the path every inbound takes (Twilio's webhook, the simulator's
    phone page). Its numbers are the sender's, as sent: a malformed one is a 400 naming its
    input (``fields`` maps ``from_number`` and ``to_number`` to the names the caller used), and
    a number no channel has is a 404."""
    try:
        return await run_in_threadpool(_store_inbound, state, session, commit, **message)
    except InvalidNumber as exc:
        name = fields.get(exc.field or "", exc.field)
        raise HTTPException(400, f"malformed field {name}: {exc}") from exc
    except UnknownChannel as exc:
        log.warning("inbound SMS rejected: no channel has the number it was sent to")
        raise HTTPException(
            404, f"no channel has the number {exc.number}; add a channel with this number"
        ) from exc


@router.post("/sms", summary="Inbound SMS (Twilio format)", response_class=Response)
async def inbound_sms(
    request: Request, state: StateDep, session: SessionDep, commit: CommitDep
) -> Response:
    """Store an inbound SMS once and signal its conversation's workflow. Answers empty TwiML."""
    with _refusals_counted("sms"):
        form = await _read_form(request, state.settings.max_webhook_bytes)
        _verify_signature(request, state, form)
        result = await accept_inbound(
            state,
            session,
            commit,
            {"from_number": "From", "to_number": "To"},
            provider_message_id=_sid(form, "MessageSid"),
            from_number=_field(form, "From"),
            to_number=_field(form, "To"),
            body=_field(form, "Body", allow_empty=True),
            media=_media(form),
        )
    metrics.WEBHOOKS.labels("sms", "stored" if result.created else "duplicate").inc()
    return _twiml()


def _apply_status(state: AppState, session: Session, commit: Commit, **fields: Any) -> None:
    apply_status_update(session, provider=state.settings.sms_provider, **fields)
    commit()


@router.post("/status", summary="Delivery status callback (Twilio format)", response_class=Response)
async def message_status(
    request: Request, state: StateDep, session: SessionDep, commit: CommitDep
) -> Response:
    """Move an outbound message's delivery status forward (never back)."""
    with _refusals_counted("status"):
        form = await _read_form(request, state.settings.max_webhook_bytes)
        _verify_signature(request, state, form)
        sid = _sid(form, "MessageSid")
        raw_status = _field(form, "MessageStatus")
        status = map_status(raw_status)
        if status is None:
            # A status Twilio added after this code was written: acknowledge, change nothing.
            log.warning("ignored unknown MessageStatus %r for %s", raw_status, sid)
            metrics.WEBHOOKS.labels("status", "ignored").inc()
            return _twiml()
        error_code, error_message = error_fields(form.get("ErrorCode"), form.get("ErrorMessage"))
        await run_in_threadpool(
            _apply_status,
            state,
            session,
            commit,
            provider_message_id=sid,
            status=status,
            error_code=error_code,
            error_message=error_message,
        )
    metrics.WEBHOOKS.labels("status", "applied").inc()
    return _twiml()
