"""Settings · Channels page: the number is picked from the provider's numbers when it lists
them (only those no channel uses), typed otherwise; an outage falls back to typing with the
reason; a form that fails validation comes back filled in."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from inbox.models import Channel
from inbox.providers import TwilioProvider
from tests.providers.fake_twilio import FakeTwilioHttp
from tests.settings.conftest import World
from web.settings.channels import channel_provider

ADMIN = "admin@example.com"


@pytest.fixture
def twilio(settings_app: FastAPI) -> Iterator[FakeTwilioHttp]:
    """The page's provider is Twilio, talking to a fake REST API (a new provider per request,
    as in production)."""
    http = FakeTwilioHttp()

    def provider() -> TwilioProvider:
        return TwilioProvider(
            account_sid="AC" + "0" * 32,
            auth_token="token",
            public_url="https://inbox.example.com",
            http_client=http,
        )

    settings_app.dependency_overrides[channel_provider] = provider
    yield http
    settings_app.dependency_overrides.pop(channel_provider, None)


def add_form(page: str) -> str:
    """The "Add a channel" form's HTML."""
    match = re.search(r'<form[^>]*id="channel-form".*?</form>', page, re.S)
    assert match, "page has no add-channel form"
    return match.group(0)


def number_options(form: str) -> list[str]:
    """The numbers offered by the form's number select (the empty prompt left out)."""
    select_html = re.search(r'<select name="number".*?</select>', form, re.S)
    assert select_html, "the number is not a select"
    return [v for v in re.findall(r'<option value="([^"]*)"', select_html.group(0)) if v]


def selected(form: str, name: str) -> str | None:
    """The selected option's value in the form's select ``name``."""
    select_html = re.search(rf'<select name="{name}".*?</select>', form, re.S)
    assert select_html, f"no select {name}"
    found = re.search(r'<option value="([^"]*)"\s+selected', select_html.group(0))
    return found.group(1) if found else None


def input_value(form: str, name: str) -> str | None:
    found = re.search(rf'<input name="{name}"[^>]*?value="([^"]*)"', form)
    return html.unescape(found.group(1)) if found else None


def test_twilio_numbers_are_offered_except_those_with_a_channel(
    login: Any, world: World, twilio: FakeTwilioHttp, session: Any
) -> None:
    twilio.numbers = ["+14155550177", world.channel.number or "", "+14155550188"]
    admin = login(ADMIN)
    form = add_form(admin.get("/settings/channels").text)
    assert number_options(form) == ["+14155550177", "+14155550188"]
    assert '<input name="number"' not in form

    response = admin.post(
        "/settings/channels",
        {"name": "Second line", "number": "+14155550188", "default_inbox_id": world.support.id},
    )
    assert response.status_code == 303, response.text
    session.expire_all()
    created = session.scalars(select(Channel).where(Channel.name == "Second line")).one()
    assert (created.number, created.default_inbox_id) == ("+14155550188", world.support.id)

    # Asked afresh on every request: the used number is gone, a newly bought one appears.
    twilio.numbers.append("+14155550199")
    form = add_form(admin.get("/settings/channels").text)
    assert number_options(form) == ["+14155550177", "+14155550199"]


def test_every_twilio_number_used_falls_back_to_typing(
    login: Any, world: World, twilio: FakeTwilioHttp
) -> None:
    twilio.numbers = [world.channel.number or ""]
    form = add_form(login(ADMIN).get("/settings/channels").text)
    assert '<select name="number"' not in form and '<input name="number"' in form
    assert "Every number on your Twilio account has a channel; enter the number" in form


def test_twilio_outage_falls_back_to_typing_with_the_reason(
    login: Any, world: World, twilio: FakeTwilioHttp, session: Any
) -> None:
    twilio.numbers = ["+14155550177"]
    twilio.fail_numbers = 503
    twilio.error_body = {"code": 20503, "message": "Service Unavailable"}
    admin = login(ADMIN)
    page = admin.get("/settings/channels")
    assert page.status_code == 200
    form = add_form(page.text)
    assert '<select name="number"' not in form and '<input name="number"' in form
    assert (
        "Couldn&#39;t list your Twilio numbers: Twilio answered HTTP 503: Service Unavailable; "
        "enter the number" in form
    )

    # The typed number is still validated and stored E.164.
    response = admin.post(
        "/settings/channels",
        {"name": "Typed", "number": "(415) 555-0166", "default_inbox_id": world.sales.id},
    )
    assert response.status_code == 303, response.text
    session.expire_all()
    typed = session.scalars(select(Channel).where(Channel.name == "Typed")).one()
    assert typed.number == "+14155550166"


def test_the_simulator_shows_the_text_input_without_a_notice(login: Any, world: World) -> None:
    form = add_form(login(ADMIN).get("/settings/channels").text)
    assert '<select name="number"' not in form and '<input name="number"' in form
    assert 'id="number-notice"' not in form


def test_a_refused_add_form_comes_back_filled_in_and_nothing_is_saved(
    login: Any, world: World, session: Any
) -> None:
    admin = login(ADMIN)
    response = admin.post(
        "/settings/channels",
        {"name": "Side <line>", "number": "nope", "default_inbox_id": world.support.id},
    )
    assert response.status_code == 422
    assert "number: &#39;nope&#39; is not a phone number" in response.text
    form = add_form(response.text)
    assert input_value(form, "name") == "Side <line>"
    assert input_value(form, "number") == "nope"
    assert selected(form, "default_inbox_id") == str(world.support.id)
    session.expire_all()
    assert session.scalars(select(Channel).where(Channel.name == "Side <line>")).first() is None


def test_a_refused_pick_keeps_the_picked_number(
    login: Any, world: World, twilio: FakeTwilioHttp
) -> None:
    twilio.numbers = ["+14155550177", "+14155550188"]
    response = login(ADMIN).post(
        "/settings/channels", {"name": "", "number": "+14155550188", "default_inbox_id": 0}
    )
    assert response.status_code == 422 and "name: 1 to 200 characters" in response.text
    assert selected(add_form(response.text), "number") == "+14155550188"


def test_a_refused_row_edit_shows_what_was_submitted(
    login: Any, world: World, session: Any
) -> None:
    other = Channel(
        name="Other", type="sms", number="+14155550111", default_inbox_id=world.sales.id
    )
    session.add(other)
    session.commit()
    response = login(ADMIN).post(
        f"/settings/channels/{world.channel.id}",
        {"name": "Renamed", "number": "+14155550111", "default_inbox_id": world.support.id},
    )
    assert response.status_code == 422 and "belongs to channel" in response.text
    row = re.search(rf'<tr id="channel-{world.channel.id}">.*?</tr>', response.text, re.S)
    assert row is not None
    assert input_value(row.group(0), "name") == "Renamed"
    assert input_value(row.group(0), "number") == "+14155550111"
    assert selected(row.group(0), "default_inbox_id") == str(world.support.id)
    session.expire_all()
    assert session.get(Channel, world.channel.id).name == "Main line"  # nothing saved
