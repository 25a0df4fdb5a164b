"""MMS in Chromium: an inbound message with two pictures shows both as thumbnails (loaded
through the app with the agent's session), and a picture attached in the composer goes out
and lands on the timeline."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inbox.media import media_dir, store_image
from inbox.models import Direction, Message
from inbox.settings import Settings
from tests.web.conftest import World
from tests.web.test_browser import (  # noqa: F401  (fixtures)
    LIVE,
    chromium,
    contexts,
    open_page,
    serve,
    shot,
)
from tests.web.test_media import mms_in

pytestmark = pytest.mark.browser


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour (so the browser decodes it and the thumbnail has a size)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Any) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path)


@pytest.fixture
def server(settings: Settings, engine: Any, world: World) -> Iterator[str]:
    """The app with its data folder in the test's temporary directory, on a free port."""
    with serve(settings) as url:
        yield url


def _decoded_widths(page: Page, selector: str) -> list[int]:
    """The natural width of each image (0 when the browser could not load or decode it)."""
    return page.locator(selector).evaluate_all("imgs => imgs.map(i => i.naturalWidth)")


def test_two_pictures_show_two_thumbnails_and_the_composer_sends_one(
    server: str,
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    world: World,
    settings: Settings,
):
    pictures = [store_image(settings, png(64, 48, (220, 80, 60))),
                store_image(settings, png(48, 64, (40, 120, 200)))]  # fmt: skip
    convo = mms_in(sessions, world, pictures, body="The lid arrived cracked, two photos")
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.goto(f"/inbox/{convo.id}")
    page.wait_for_load_state("load")
    thumbs = page.locator("#timeline .msg-inbound .thumb img")
    expect(thumbs).to_have_count(2)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#timeline .thumb img')]"
        ".every(i => i.complete && i.naturalWidth > 0)",
        timeout=LIVE,
    )
    assert _decoded_widths(page, "#timeline .msg-inbound .thumb img") == [64, 48]

    page.set_input_files(
        "#composer-image",
        files=[{"name": "replacement.png", "mimeType": "image/png",
                "buffer": png(80, 60, (60, 170, 90))}],
    )  # fmt: skip
    page.fill("#composer-body", "Here is the replacement we are sending")
    page.click("#send")
    sent = page.locator("#timeline .msg-outbound").last
    expect(sent.locator(".bubble")).to_contain_text("Here is the replacement")
    expect(sent.locator(".thumb img")).to_have_count(1)
    page.wait_for_function(
        "() => { const i = [...document.querySelectorAll('#timeline .msg-outbound .thumb img')]"
        ".pop(); return i && i.complete && i.naturalWidth > 0; }",
        timeout=LIVE,
    )
    assert _decoded_widths(page, "#timeline .msg-outbound .thumb img") == [80]
    expect(page.locator("#composer-image")).to_have_value("")  # the form was reset
    shot(page, "mms-thumbnails")
    with sessions() as session:
        message = session.scalars(
            select(Message).where(
                Message.conversation_id == convo.id, Message.direction == Direction.OUTBOUND
            )
        ).one()
    [item] = message.media
    assert (media_dir(settings) / item["file"]).stat().st_size > 0


def test_the_simulator_phone_sends_a_picture_the_inbox_shows(
    server: str,
    chromium: Browser,  # noqa: F811
    contexts,  # noqa: F811
    sessions: sessionmaker[Session],
    world: World,
):
    phone_context = chromium.new_context(base_url=server)
    contexts.append(phone_context)
    phone = phone_context.new_page()
    phone.goto("/simulator?number=%2B12025550199")
    phone.wait_for_load_state("load")
    phone.set_input_files(
        "#image",
        files=[
            {"name": "receipt.png", "mimeType": "image/png", "buffer": png(50, 70, (90, 90, 90))}
        ],
    )
    phone.fill("#body", "my receipt")
    phone.click("#send")
    # The phone shows its own picture; the inbox gets the MMS with its thumbnail.
    expect(phone.locator("#thread .bubble.inbound img.picture")).to_have_count(1, timeout=LIVE)
    expect(phone.locator("#image")).to_have_value("")
    shot(phone, "simulator-mms")
    with sessions() as session:
        message = session.scalars(select(Message).where(Message.body == "my receipt")).one()
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.goto(f"/inbox/{message.conversation_id}")
    page.wait_for_load_state("load")
    expect(page.locator("#timeline .msg-inbound .thumb img")).to_have_count(1)
    page.wait_for_function(
        "() => { const i = document.querySelector('#timeline .thumb img');"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=LIVE,
    )
    assert _decoded_widths(page, "#timeline .msg-inbound .thumb img") == [50]
