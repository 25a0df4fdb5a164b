"""The interface every SMS provider implements, and the errors it may raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OutboundSms:
    """One message to send. ``client_ref`` is our message id: the key that makes sending
    idempotent (a provider that cannot take it finds the message again by numbers, body, time)."""

    client_ref: str
    from_number: str
    to_number: str
    body: str
    created_at: datetime
    media_urls: tuple[str, ...] = ()
    # Provider ids already recorded on our other messages: reconciliation must not claim them
    # (two identical bodies sent to one number a moment apart are two messages).
    claimed_ids: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class SendResult:
    """What the provider said about a message it took: its id and status (a ``MessageStatus``
    value: ``sent`` once handed over, ``delivered`` if it already knows)."""

    provider_message_id: str
    status: str


class ProviderError(Exception):
    """Base of the errors a provider raises."""


class ProviderRejected(ProviderError):
    """Permanent: the provider refused the message (bad number, opted out …); retrying cannot
    help."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{reason} (code {code})")
        self.code = code
        self.reason = reason


class ProviderUnavailable(ProviderError):
    """Transient: the provider could not be reached or failed on its side; retry later. The
    message may or may not have been taken, so a retry reconciles first (``find_sent``)."""


class SmsProvider(Protocol):
    """Sends SMS. Implementations: ``TwilioProvider`` and ``SimulatorProvider``."""

    name: str

    def send(self, sms: OutboundSms) -> SendResult:
        """Hand the message to the provider; raises ProviderRejected or ProviderUnavailable."""
        ...

    def find_sent(self, sms: OutboundSms) -> SendResult | None:
        """The provider's record of ``sms`` if an earlier, ambiguous attempt did send it."""
        ...

    def list_numbers(self) -> list[str] | None:
        """The E.164 numbers the account owns, or None when this provider cannot list them
        (any number may then be entered); raises ProviderRejected or ProviderUnavailable."""
        ...
