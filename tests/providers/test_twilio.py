"""Twilio: signatures as Twilio computes them, sending, error mapping, reconciliation."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from inbox.models import utcnow
from inbox.providers import (
    OutboundSms,
    ProviderRejected,
    ProviderUnavailable,
    TwilioProvider,
    get_provider,
)
from inbox.providers.twilio import (
    compute_signature,
    map_status,
    public_request_url,
    validate_signature,
)
from inbox.settings import Settings
from tests.providers.fake_twilio import FakeTwilioHttp, serve_fake_twilio


def twilio_hmac(token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's documented algorithm, written out independently of the library."""
    data = url + "".join(key + params[key] for key in sorted(params))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def test_signature_matches_twilios_algorithm():
    url = "https://inbox.example.com/webhooks/twilio/sms?x=1"
    params = {"To": "+14155550100", "From": "+12025550143", "Body": "hi & bye", "MessageSid": "SM1"}
    expected = twilio_hmac("secret", url, params)
    assert compute_signature("secret", url, params) == expected
    assert validate_signature("secret", url, params, expected)
    assert not validate_signature("other", url, params, expected)
    assert not validate_signature("secret", url, {**params, "Body": "changed"}, expected)
    assert not validate_signature("secret", url, params, None)


def test_public_url_is_the_proxys_address():
    assert public_request_url("https://in.example.com/", "/webhooks/twilio/sms", "") == (
        "https://in.example.com/webhooks/twilio/sms"
    )
    assert (
        public_request_url("https://in.example.com", "/a", "b=1") == "https://in.example.com/a?b=1"
    )


def test_status_mapping():
    assert map_status("delivered") == "delivered"
    assert map_status("accepted") == "queued"
    assert map_status("canceled") == "failed"
    assert map_status("something-new") is None


def make_provider(http: FakeTwilioHttp) -> TwilioProvider:
    return TwilioProvider(
        account_sid="AC" + "0" * 32,
        auth_token="token",
        public_url="https://inbox.example.com/",
        http_client=http,
    )


def sms(**kw) -> OutboundSms:
    kw.setdefault("client_ref", "1")
    kw.setdefault("from_number", "+14155550100")
    kw.setdefault("to_number", "+12025550143")
    kw.setdefault("body", "Hello")
    kw.setdefault("created_at", utcnow())
    return OutboundSms(**kw)


def test_send_creates_the_message_with_our_status_callback():
    http = FakeTwilioHttp()
    result = make_provider(http).send(sms(media_urls=("https://example.com/a.png",)))
    (created,) = http.messages
    assert result.provider_message_id == created["sid"] and result.status == "sent"
    assert created["status_callback"] == "https://inbox.example.com/webhooks/twilio/status"
    assert created["media_url"] == ["https://example.com/a.png"]


def test_errors_are_mapped_to_rejected_or_unavailable():
    http = FakeTwilioHttp()
    provider = make_provider(http)
    http.fail_next = 400
    with pytest.raises(ProviderRejected) as rejected:
        provider.send(sms())
    assert rejected.value.code == "21211" and "not valid" in rejected.value.reason
    for status in (429, 500, 503):
        http.fail_next = status
        with pytest.raises(ProviderUnavailable):
            provider.send(sms())
    http.fail_next = "timeout"
    with pytest.raises(ProviderUnavailable):
        provider.send(sms())


def test_find_sent_reconciles_by_numbers_body_and_time_but_never_claims_twice():
    http = FakeTwilioHttp()
    provider = make_provider(http)
    assert provider.find_sent(sms()) is None
    first = provider.send(sms(client_ref="1", body="ok"))
    second = provider.send(sms(client_ref="2", body="ok"))
    found = provider.find_sent(
        sms(client_ref="2", body="ok", claimed_ids=frozenset({first.provider_message_id}))
    )
    assert found is not None and found.provider_message_id == second.provider_message_id
    assert provider.find_sent(sms(body="another body")) is None
    # A message created long before our row is not ours.
    later = sms(client_ref="3", body="ok", created_at=utcnow() + timedelta(hours=1))
    assert provider.find_sent(later) is None


def test_list_numbers_returns_the_accounts_numbers():
    http = FakeTwilioHttp()
    http.numbers = ["+14155550100", "+14155550101"]
    assert make_provider(http).list_numbers() == ["+14155550100", "+14155550101"]
    http.numbers = []
    assert make_provider(http).list_numbers() == []


def test_list_numbers_maps_errors_like_sends():
    http = FakeTwilioHttp()
    provider = make_provider(http)
    for failure in (500, 503, "timeout"):
        http.fail_numbers = failure
        with pytest.raises(ProviderUnavailable):
            provider.list_numbers()
    http.error_body = {"code": 20003, "message": "Authenticate"}
    http.fail_numbers = 401
    with pytest.raises(ProviderRejected) as rejected:
        provider.list_numbers()
    assert rejected.value.code == "20003" and rejected.value.reason == "Authenticate"


def test_base_url_setting_sends_through_the_address_it_names():
    """INBOX_TWILIO_BASE_URL moves every API call (send, reconcile, list numbers) to another
    address: here the fake Twilio, over real HTTP with the library's own HTTP client."""
    http = FakeTwilioHttp()
    http.numbers = ["+14155550100"]
    with serve_fake_twilio(http) as base_url:
        settings = Settings(
            sms_provider="twilio",
            twilio_account_sid="AC" + "1" * 32,
            twilio_auth_token="token",
            twilio_base_url=base_url + "/",
            public_url="https://inbox.example.com",
        )
        provider = get_provider(settings, sessionmaker())
        sent = provider.send(sms(media_urls=("https://example.com/a.png",)))
        assert isinstance(provider, TwilioProvider)
        found = provider.find_sent(sms())
        assert found is not None and found.provider_message_id == sent.provider_message_id
        assert provider.list_numbers() == ["+14155550100"]
    (created,) = http.messages
    assert created["sid"] == sent.provider_message_id and created["body"] == "Hello"
    assert created["media_url"] == ["https://example.com/a.png"]
    account = "/2010-04-01/Accounts/AC" + "1" * 32
    assert http.requests == [
        ("POST", f"{account}/Messages.json"),
        ("GET", f"{account}/Messages.json"),
        ("GET", f"{account}/IncomingPhoneNumbers.json"),
    ]


def test_base_url_defaults_to_twilios_api(monkeypatch):
    monkeypatch.delenv("INBOX_TWILIO_BASE_URL", raising=False)
    assert Settings().twilio_base_url == "https://api.twilio.com"
    monkeypatch.setenv("INBOX_TWILIO_BASE_URL", "https://api.dublin.ie1.twilio.com")
    assert Settings().twilio_base_url == "https://api.dublin.ie1.twilio.com"
