"""The built-in SMS simulator: a provider that "delivers" into the ``simulator_messages`` table.

Outbound messages land in that table keyed by ``client_ref`` (our message id), so sending the
same message twice returns the first result, as a provider with idempotency keys would. Delivery
is reported through :func:`inbox.services.outbound.apply_status_update`, the code path Twilio's
status webhook uses. Texts a person types as a contact (the ``/simulator`` page, ``inbox
simulate text``) are recorded here too, so the phone page shows both directions.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from inbox.models import Direction, Message, MessageStatus, SimulatorMessage
from inbox.providers.base import (
    OutboundSms,
    ProviderRejected,
    ProviderUnavailable,
    SendResult,
)
from inbox.services.outbound import apply_status_update


def new_sid() -> str:
    """A message id in Twilio's shape (``SM`` + 32 hex digits)."""
    return f"SM{uuid.uuid4().hex}"


def record_inbound(
    session: Session,
    *,
    sid: str,
    from_number: str,
    to_number: str,
    body: str,
    media: list[dict[str, Any]] | None = None,
) -> SimulatorMessage:
    """Note on the simulated phone a text the contact sent (once per ``sid``)."""
    existing = session.scalars(select(SimulatorMessage).where(SimulatorMessage.sid == sid)).first()
    if existing is not None:
        return existing
    row = SimulatorMessage(
        sid=sid,
        direction=Direction.INBOUND,
        from_number=from_number,
        to_number=to_number,
        body=body,
        media=list(media or []),
        status=MessageStatus.RECEIVED,
    )
    session.add(row)
    session.flush()
    return row


class SimulatorProvider:
    """Sends into the database. Test hooks: set ``outage`` to make every call fail as if the
    provider were down, or ``rejection`` to refuse every send permanently."""

    name = "simulator"

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self.outage = False
        self.rejection: ProviderRejected | None = None

    def _check_outage(self) -> None:
        if self.outage:
            raise ProviderUnavailable("the simulator is in a simulated outage")

    def _check_hooks(self) -> None:
        self._check_outage()
        if self.rejection is not None:
            raise self.rejection

    def send(self, sms: OutboundSms) -> SendResult:
        """Deliver ``sms`` to the simulated phone at once and report it delivered."""
        self._check_hooks()
        with self._sessions() as session:
            found = self._find(session, sms.client_ref)
            if found is not None:
                return found
            sid = new_sid()
            session.add(
                SimulatorMessage(
                    sid=sid,
                    client_ref=sms.client_ref,
                    direction=Direction.OUTBOUND,
                    from_number=sms.from_number,
                    to_number=sms.to_number,
                    body=sms.body,
                    media=[{"url": url} for url in sms.media_urls],
                    status=MessageStatus.DELIVERED,
                )
            )
            try:
                session.flush()
            except IntegrityError:
                # A concurrent attempt for the same message won; its result is the answer.
                session.rollback()
                found = self._find(session, sms.client_ref)
                if found is None:
                    raise
                return found
            self._report_delivery(session, sms.client_ref, sid)
            session.commit()
        return SendResult(provider_message_id=sid, status=MessageStatus.DELIVERED)

    def find_sent(self, sms: OutboundSms) -> SendResult | None:
        """The earlier send of ``sms``, found by its ``client_ref``."""
        self._check_hooks()
        with self._sessions() as session:
            return self._find(session, sms.client_ref)

    def list_numbers(self) -> list[str] | None:
        """None: the simulator has no account of numbers; a channel may use any number, and the
        phone page texts whichever one it names. A simulated outage fails here too."""
        self._check_outage()
        return None

    def _find(self, session: Session, client_ref: str) -> SendResult | None:
        row = session.scalars(
            select(SimulatorMessage).where(SimulatorMessage.client_ref == client_ref)
        ).first()
        if row is None:
            return None
        return SendResult(provider_message_id=row.sid, status=row.status)

    def _report_delivery(self, session: Session, client_ref: str, sid: str) -> None:
        """Stamp our message with the simulator's id (a real provider's status report can only
        arrive once the sender has stored it) and report it delivered."""
        message = session.get(Message, int(client_ref)) if client_ref.isdigit() else None
        if message is None:
            return
        if message.provider_message_id is None:
            message.provider = self.name
            message.provider_message_id = sid
        apply_status_update(
            session,
            provider=message.provider,
            provider_message_id=sid,
            status=MessageStatus.DELIVERED,
        )
