"""SMS providers behind one interface (:class:`SmsProvider`): Twilio, and the built-in simulator."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from inbox.providers.base import (
    OutboundSms,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    SendResult,
    SmsProvider,
)
from inbox.providers.simulator import SimulatorProvider
from inbox.providers.twilio import TwilioProvider
from inbox.settings import Settings


def get_provider(settings: Settings, sessions: sessionmaker[Session]) -> SmsProvider:
    """The provider ``INBOX_SMS_PROVIDER`` names."""
    if settings.sms_provider == "twilio":
        return TwilioProvider(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            public_url=settings.public_url,
            base_url=settings.twilio_base_url,
        )
    return SimulatorProvider(sessions)


__all__ = [
    "OutboundSms",
    "ProviderError",
    "ProviderRejected",
    "ProviderUnavailable",
    "SendResult",
    "SimulatorProvider",
    "SmsProvider",
    "TwilioProvider",
    "get_provider",
]
