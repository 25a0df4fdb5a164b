"""Browser tests: Debian's Chromium driven by Playwright against a real uvicorn server.

Run with ``pytest -m browser tests/web``. Screenshots of each view go to the folder
``tests/screenshots.py`` names.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import (
    APIResponse,
    Browser,
    BrowserContext,
    Page,
    Route,
    expect,
    sync_playwright,
)
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from inbox.models import Conversation, ConversationStatus, Direction, Message
from inbox.services.conversations import add_contact_event, assign
from inbox.settings import Settings
from tests import screenshots
from tests.web.conftest import PASSWORD, FakeTemporal, World, text_in
from web.segments import count_segments

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
LIVE = 5_000  # ms: live updates must arrive well within this (the target is one second)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The whole app for ``settings`` on a free 127.0.0.1 port, in a thread, with a stand-in
    Temporal client; stopped on leaving."""
    app = create_app(settings, temporal_client=FakeTemporal())  # type: ignore[arg-type]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=_free_port(), log_level="warning", timeout_graceful_shutdown=1
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        srv.should_exit = True
        thread.join(10)


@pytest.fixture
def server(database_url: str, engine: Any, world: World) -> Iterator[str]:
    """The whole app on a free 127.0.0.1 port, in a thread; stopped after the test."""
    with serve(Settings(database_url=database_url)) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium chromium-driver")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def contexts(chromium: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def open_page(
    chromium: Browser,
    contexts: list[BrowserContext],
    base: str,
    email: str,
    *,
    watch: Callable[[Page], None] | None = None,
) -> Page:
    """A new browser context signed in as ``email`` through the sign-in form; ``watch`` is
    called with the page before its first request (to see the sign-in pages too)."""
    context = chromium.new_context(base_url=base, viewport={"width": 1440, "height": 900})
    contexts.append(context)
    page = context.new_page()
    if watch is not None:
        watch(page)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto("/inbox")
    expect(page).to_have_url(re.compile(r"/login"))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/inbox"))
    # The URL changes when the navigation commits, before the deferred scripts (htmx, app.js)
    # have run; the load event comes after them.
    page.wait_for_load_state("load")
    return page


def wait_live(page: Page) -> None:
    """Wait until the page's event stream is open (htmx sets this on the source)."""
    page.wait_for_function(
        "() => { const b = document.body; const s = b['htmx-internal-data'] && "
        "b['htmx-internal-data'].sseEventSource; return s && s.readyState === 1; }",
        timeout=LIVE,
    )


def shot(page: Page, name: str) -> None:
    screenshots.shot(page, name)


def test_sign_in_wrong_password_then_right_then_out(server: str, chromium: Browser, contexts):
    context = chromium.new_context(base_url=server, viewport={"width": 1280, "height": 800})
    contexts.append(context)
    page = context.new_page()
    page.goto("/login")
    shot(page, "sign-in")
    page.fill("input[name=email]", "agent@example.com")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    expect(page.locator(".form-error")).to_contain_text("do not match")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".me-name")).to_contain_text("Alex Agent")
    page.click("#sign-out")
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/inbox")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_message_appears_live_with_alert_then_reply(
    server: str, chromium: Browser, contexts, sessions: sessionmaker[Session], world: World
):
    text_in(sessions, world, body="Earlier question", number="+12025550123")
    page = open_page(chromium, contexts, server, "agent@example.com")
    wait_live(page)
    started = time.monotonic()
    conversation = text_in(sessions, world, body="Hi! Is the <b>blue</b> one in stock?")
    item = page.locator(f".conv-item[data-id='{conversation.id}']")
    expect(item).to_be_visible(timeout=LIVE)
    expect(item).to_have_class(re.compile("unread"))
    alert = page.locator("#alerts .alert").first
    expect(alert).to_contain_text("Is the <b>blue</b> one in stock?", timeout=LIVE)
    latency = time.monotonic() - started
    assert latency < 2.5, f"live update took {latency:.2f}s"
    alert.locator("a", has_text="View").click()
    expect(page).to_have_url(re.compile(rf"/inbox/{conversation.id}"))
    # Escaped: the contact's markup shows as text, no <b> element was created.
    expect(page.locator("#timeline .msg-inbound .bubble").last).to_have_text(
        "Hi! Is the <b>blue</b> one in stock?"
    )
    assert page.locator("#timeline .bubble b").count() == 0
    page.keyboard.press("r")
    page.keyboard.type("Yes {{ contact.first_name }}, we have it! €")
    counter = page.locator("#segment-counter")
    expect(counter).to_contain_text("1 segment")
    page.click("#send")
    expect(page.locator("#timeline .msg-outbound .bubble").last).to_contain_text("we have it! €")
    expect(page.locator("#composer-body")).to_have_value("")
    shot(page, "inbox")
    with sessions() as session:
        out = session.scalars(
            select(Message).where(
                Message.conversation_id == conversation.id, Message.direction == Direction.OUTBOUND
            )
        ).one()
        assert out.author_id == world.agent.id
        assert out.body.startswith("Yes ")  # merge field filled (the contact has no name yet)
        assert "{{" not in out.body


def test_every_conversation_action(
    server: str, chromium: Browser, contexts, sessions: sessionmaker[Session], world: World
):
    conversation = text_in(sessions, world, body="Can someone call me back?")
    page = open_page(chromium, contexts, server, "manager@example.com")
    page.goto(f"/inbox/{conversation.id}")
    wait_live(page)
    # Assign
    page.select_option("#assign-select", label="Olive Other")
    expect(page.locator("#detail-assignee")).to_have_text("Olive Other")
    expect(page.locator("#timeline")).to_contain_text("assigned")
    # Move
    page.select_option("#move-select", label="Support")
    expect(page.locator("#detail-inbox")).to_have_text("Support")
    # Close, then reopen
    page.click("#btn-close")
    expect(page.locator("#conv-status")).to_have_text("closed")
    expect(page.locator("#btn-unread")).to_have_count(0)  # a closed one cannot be marked unread
    page.click("#btn-reopen")
    expect(page.locator("#conv-status")).to_have_text("open")
    # Mark unread: back to the list, where it shows as unread
    page.click("#btn-unread")
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.locator(f".conv-item[data-id='{conversation.id}']")).to_have_class(
        re.compile("unread")
    )
    # Spam
    page.goto(f"/inbox/{conversation.id}")
    page.click("#btn-spam")
    expect(page.locator("#conv-status")).to_have_text("spam")
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        assert row is not None
        assert row.status == ConversationStatus.SPAM
        assert row.inbox_id == world.support.id
        assert row.assignee_id == world.other_agent.id
    page.goto("/inbox?view=spam")
    expect(page.locator(f".conv-item[data-id='{conversation.id}']")).to_be_visible()


def test_an_action_right_after_a_live_refresh_is_not_lost(
    server: str, chromium: Browser, contexts, sessions: sessionmaker[Session], world: World
):
    """Someone else assigns the conversation; the live refresh replaces the header, and the
    agent's next input (the very next task) moves it. The new controls must already listen."""
    conversation = text_in(sessions, world, body="Can someone call me back?")
    page = open_page(chromium, contexts, server, "manager@example.com")
    page.goto(f"/inbox/{conversation.id}")
    wait_live(page)
    page.evaluate(
        """() => {
          let done = false;
          document.addEventListener("htmx:oobAfterSwap", (evt) => {
            if (done || evt.detail.target.id !== "conv-header") return;
            done = true;
            setTimeout(() => {
              const select = document.getElementById("move-select");
              const support = Array.from(select.options).find((o) => o.text === "Support");
              select.value = support.value;
              select.dispatchEvent(new Event("change", { bubbles: true }));
            }, 0);
          });
        }"""
    )
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        assert row is not None
        assign(session, conversation=row, assignee_id=world.other_agent.id, actor_id=world.admin.id)
        session.commit()
    expect(page.locator("#detail-assignee")).to_have_text("Olive Other", timeout=LIVE)
    expect(page.locator("#detail-inbox")).to_have_text("Support", timeout=LIVE)
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        assert row is not None
        assert row.inbox_id == world.support.id


def test_a_live_refresh_read_before_an_action_never_replaces_its_result(
    server: str, chromium: Browser, contexts, sessions: sessionmaker[Session], world: World
):
    """A live refresh that read the conversation before the agent's move, and whose answer
    arrives after the move's own answer, must not put the old inbox back on the screen."""
    conversation = text_in(sessions, world, body="Can someone call me back?")
    page = open_page(chromium, contexts, server, "manager@example.com")
    page.goto(f"/inbox/{conversation.id}")
    wait_live(page)
    held: list[tuple[Route, APIResponse]] = []

    def hold_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append((route, route.fetch()))  # the server answers now; the page gets it later

    page.route("**/inbox/*/live", hold_first)
    page.evaluate(
        """() => document.addEventListener("htmx:afterRequest", (evt) => {
          const live = evt.detail.pathInfo.requestPath.endsWith("/live");
          if (live && window.inboxAfterStale === undefined)
            window.inboxAfterStale = document.getElementById("detail-inbox").textContent;
        })"""
    )
    text_in(sessions, world, body="Hello?")  # a live refresh starts, and is held
    deadline = time.monotonic() + LIVE / 1000
    while not held:
        assert time.monotonic() < deadline, "no live refresh was requested"
        page.wait_for_timeout(20)  # lets Playwright run the route handler
    page.select_option("#move-select", label="Support")
    expect(page.locator("#detail-inbox")).to_have_text("Support")
    route, stale = held[0]
    route.fulfill(response=stale)
    page.wait_for_function("() => window.inboxAfterStale !== undefined", timeout=LIVE)
    assert page.evaluate("() => window.inboxAfterStale") == "Support"
    expect(page.locator("#timeline")).to_contain_text("Hello?", timeout=LIVE)


def test_a_live_refresh_keeps_what_the_agent_is_typing_in_a_note(
    server: str, chromium: Browser, contexts, sessions: sessionmaker[Session], world: World
):
    """A new message refreshes the conversation; the details panel, unchanged by it, is left in
    place, so a half-typed note survives."""
    conversation = text_in(sessions, world, body="First")
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.goto(f"/inbox/{conversation.id}")
    wait_live(page)
    page.fill(".note-form textarea", "Called back, left a")
    text_in(sessions, world, body="Second")
    expect(page.locator("#timeline")).to_contain_text("Second", timeout=LIVE)
    expect(page.locator(".note-form textarea")).to_have_value("Called back, left a")


def test_search_views_and_keyboard(
    server: str, chromium: Browser, contexts, sessions: sessionmaker[Session], world: World
):
    a = text_in(sessions, world, body="Where is my parcel?", number="+12025550131")
    b = text_in(sessions, world, body="Do you open on Sundays?", number="+12025550132")
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.fill("#search", "parcel")
    expect(page.locator(".conv-item")).to_have_count(1)
    expect(page.locator(f".conv-item[data-id='{a.id}']")).to_be_visible()
    page.fill("#search", "5550132")
    expect(page.locator(f".conv-item[data-id='{b.id}']")).to_be_visible()
    expect(page.locator(".conv-item")).to_have_count(1)
    page.fill("#search", "")
    expect(page.locator(".conv-item")).to_have_count(2)
    page.click("label[data-view='closed']")
    expect(page.locator(".conv-list .empty")).to_be_visible()
    page.click("label[data-view='all']")
    expect(page.locator(".conv-item")).to_have_count(2)
    page.locator("body").click(position={"x": 700, "y": 400})
    page.keyboard.press("j")
    expect(page).to_have_url(re.compile(r"/inbox/\d+"))
    first = page.url
    page.keyboard.press("j")
    expect(page).not_to_have_url(first)
    page.keyboard.press("k")
    expect(page).to_have_url(first)
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()
    current = re.search(r"/inbox/(\d+)", page.url)
    assert current
    expect(page.locator("#conversation-pane")).to_have_attribute(
        "data-conversation-id", current.group(1)
    )
    expect(page.locator("#btn-close")).to_be_visible()
    page.keyboard.press("c")
    expect(page.locator("#conv-status")).to_have_text("closed")


def test_list_view_bulk_and_cards(
    server: str, chromium: Browser, contexts, sessions: sessionmaker[Session], world: World
):
    ids = [
        text_in(sessions, world, body=f"Order {n}", number=f"+120255501{n:02d}").id
        for n in range(5)
    ]
    page = open_page(chromium, contexts, server, "manager@example.com")
    page.goto("/list")
    expect(page.locator("#table-wrap tbody tr")).to_have_count(5)
    shot(page, "list")
    for conversation_id in ids[:3]:
        page.check(f"input[name=ids][value='{conversation_id}']")
    page.select_option("#bulk-action", "close")
    page.click("#bulk-apply")
    expect(page.locator(".toast")).to_contain_text("3 done")
    expect(page.locator("#table-wrap tbody tr")).to_have_count(2)
    page.check("#check-all")
    page.select_option("#bulk-action", "move")
    page.select_option("#bulk-inbox", label="Support")
    page.click("#bulk-apply")
    expect(page.locator("#table-wrap td.col-inbox").first).to_have_text("Support")
    page.check("#check-all")
    page.select_option("#bulk-action", "assign")
    page.select_option("#bulk-assignee", label="Olive Other")
    page.click("#bulk-apply")
    expect(page.locator("#table-wrap td.col-assignee").first).to_have_text("Olive Other")
    page.goto("/cards")
    expect(page.locator(".board-col")).to_have_count(3)
    expect(page.locator(".board-col", has_text="Closed").locator(".conv-card")).to_have_count(3)
    shot(page, "cards")
    page.select_option("#group-select", "inbox")
    expect(page.locator(".board-col h2", has_text="Support")).to_be_visible()
    page.select_option("#group-select", "assignee")
    expect(page.locator(".board-col h2", has_text="Olive Other")).to_be_visible()


def test_contact_page_and_new_conversation(
    server: str, chromium: Browser, contexts, sessions: sessionmaker[Session], world: World
):
    conversation = text_in(sessions, world, body="Thanks for the call")
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        assert row is not None
        add_contact_event(session, contact=row.contact, kind="call", summary="Outbound call, 4 min")
        add_contact_event(session, contact=row.contact, kind="purchase", summary="Blue chair, $120")
        session.commit()
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.goto(f"/contacts/{conversation.contact_id}")
    page.click("#edit-contact")
    page.fill("input[name=name]", "Jordan Lee")
    page.click("button:has-text('Save')")
    expect(page.locator(".contact-name")).to_have_text("Jordan Lee")
    expect(page.locator("#contact-log")).to_contain_text("Blue chair")
    page.reload()
    expect(page.locator("h1")).to_have_text("Jordan Lee")
    shot(page, "contact")
    page.goto(f"/inbox/{conversation.id}")
    page.click("#btn-close")
    expect(page.locator("#conv-status")).to_have_text("closed")
    page.goto("/new")
    shot(page, "new-conversation")
    page.fill("#contact-q", "Jordan")
    expect(page.locator("#contact option")).to_have_count(1)
    page.click("#start")
    expect(page).to_have_url(re.compile(r"/inbox/\d+\?compose=1"))
    expect(page.locator("#composer-body")).to_be_focused()
    page.keyboard.type("Following up on your chair")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#timeline .msg-outbound")).to_contain_text("Following up")


def test_two_browsers_see_each_others_changes(
    server: str, chromium: Browser, contexts, sessions: sessionmaker[Session], world: World
):
    conversation = text_in(sessions, world, body="Anyone there?")
    alex = open_page(chromium, contexts, server, "agent@example.com")
    max_ = open_page(chromium, contexts, server, "manager@example.com")
    alex.goto(f"/inbox/{conversation.id}")
    max_.goto(f"/inbox/{conversation.id}")
    wait_live(alex)
    wait_live(max_)
    max_.fill("#composer-body", "Hello from Max")
    max_.click("#send")
    expect(alex.locator("#timeline")).to_contain_text("Hello from Max", timeout=LIVE)
    alex.select_option("#assign-select", label="Max Manager")
    expect(max_.locator("#detail-assignee")).to_have_text("Max Manager", timeout=LIVE)
    max_.click("#btn-close")
    expect(alex.locator("#conv-status")).to_have_text("closed", timeout=LIVE)


def test_notifications_toggle_and_right_panel_are_remembered(
    server: str, chromium: Browser, contexts, sessions: sessionmaker[Session], world: World
):
    conversation = text_in(sessions, world, body="First")
    page = open_page(chromium, contexts, server, "agent@example.com")
    page.goto(f"/inbox/{conversation.id}")
    page.click("#notify-toggle button")
    expect(page.locator("#notify-toggle button")).to_have_attribute("aria-checked", "false")
    # The preference is saved in the background; reload only once the server has it.
    with page.expect_response("**/prefs/details"):
        page.click("#toggle-details")
    expect(page.locator("#details")).to_be_hidden()
    page.reload()
    expect(page.locator("#details")).to_be_hidden()
    expect(page.locator("#notify-toggle button")).to_have_attribute("aria-checked", "false")
    wait_live(page)
    text_in(sessions, world, body="Second, while alerts are off")
    expect(page.locator("#timeline")).to_contain_text("Second, while alerts", timeout=LIVE)
    assert page.locator("#alerts .alert").count() == 0
    page.click("#toggle-details")
    expect(page.locator("#details")).to_be_visible()


@pytest.mark.parametrize(
    "body",
    [
        "",
        "a" * 160,
        "a" * 161,
        "[" * 80,
        "[" * 81,
        "é" * 160,
        "ê" * 70,
        "ê" * 71,
        "😀" * 35,
        "😀" * 36,
        "a" * 152 + "[",
    ],
)
def test_live_counter_counts_like_the_server(server: str, chromium: Browser, contexts, body: str):
    page = (
        contexts and contexts[0].pages[0]
        if contexts
        else open_page(chromium, contexts, server, "agent@example.com")
    )
    result = page.evaluate("(b) => window.countSegments(b)", body)
    expected = count_segments(body)
    assert (result["encoding"], result["segments"], result["units"], result["remaining"]) == (
        expected.encoding,
        expected.segments,
        expected.units,
        expected.remaining,
    )
