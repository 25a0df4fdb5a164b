"""Server tests for every web route and role: sign-in, CSRF, visibility, actions, views."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from inbox.models import (
    ContactEvent,
    Conversation,
    ConversationStatus,
    Direction,
    LiveEvent,
    Message,
    User,
)
from tests.web.conftest import PASSWORD, Browser, csrf_of, text_in


def test_pages_need_sign_in(client, world):
    for url in ["/inbox", "/inbox/1", "/list", "/cards", "/new", "/contacts/1", "/live"]:
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/login?next=")
    htmx = client.get("/inbox/list", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 204
    assert htmx.headers["HX-Redirect"].startswith("/login")


def test_sign_in_sets_a_safe_cookie_and_rejects_bad_passwords(client, world):
    page = client.get("/login")
    token = csrf_of(page.text)
    bad = client.post(
        "/login", data={"email": "agent@example.com", "password": "nope", "csrf_token": token}
    )
    assert bad.status_code == 401
    assert "do not match" in bad.text
    good = client.post(
        "/login",
        data={
            "email": "AGENT@example.com",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "https://evil.example/",
        },
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert good.headers["location"] == "/inbox"  # no open redirect
    cookie = good.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # public_url is http here
    assert client.get("/inbox").status_code == 200


def test_sign_in_without_csrf_token_is_refused(client, world):
    client.get("/login")
    response = client.post("/login", data={"email": "agent@example.com", "password": PASSWORD})
    assert response.status_code == 403


def test_disabled_user_cannot_sign_in(client, world, session):
    user = session.get(User, world.agent.id)
    user.is_active = False
    session.commit()
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"email": "agent@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 401


def test_logout_needs_csrf_and_ends_the_session(signed_in):
    agent: Browser = signed_in("agent@example.com")
    assert agent.post("/logout", csrf=False, htmx=False).status_code == 403
    assert agent.post("/logout", htmx=False).status_code == 303
    assert agent.get("/inbox", follow_redirects=False).status_code == 303


def test_state_changes_without_csrf_change_nothing(signed_in, sessions, world):
    conversation = text_in(sessions, world, body="hi")
    agent: Browser = signed_in("agent@example.com")
    for action in ["close", "spam", "unread", "reopen"]:
        assert (
            agent.post(f"/conversations/{conversation.id}/{action}", csrf=False).status_code == 403
        )
    response = agent.client.post(
        f"/conversations/{conversation.id}/reply",
        data={"body": "x"},
        headers={"X-CSRF-Token": "forged"},
    )
    assert response.status_code == 403
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        assert row.status == ConversationStatus.OPEN
        assert (
            session.scalar(select(Message).where(Message.direction == Direction.OUTBOUND)) is None
        )


def test_inbox_views_badges_and_escaping(signed_in, sessions, world):
    mine = text_in(sessions, world, body="<img src=x onerror=alert(1)>", number="+12025550301")
    agent: Browser = signed_in("agent@example.com")
    page = agent.get("/inbox").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<img src=x" not in page
    assert 'id="unread-badge" class="badge "' in page  # one unread
    unread = agent.get("/inbox/list?view=unread", htmx=True)
    assert "HX-Request" in unread.headers["Vary"]
    assert f'data-id="{mine.id}"' in unread.text
    assert "<html" not in unread.text  # just the blocks
    assert 'hx-swap-oob="true">1</span>' in unread.text
    opened = agent.get(f"/inbox/{mine.id}")
    assert opened.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in opened.text
    unread = agent.get("/inbox/list?view=unread", htmx=True)
    assert f'data-id="{mine.id}"' not in unread.text  # opening it read it
    assert agent.get("/inbox/list?view=unassigned", htmx=True).text.count("conv-item") == 0
    assert f'data-id="{mine.id}"' in agent.get("/inbox/list?view=mine", htmx=True).text
    fragment = agent.get(f"/inbox/{mine.id}", htmx=True)
    assert 'id="conversation-pane"' in fragment.text and 'id="details"' in fragment.text
    assert "<html" not in fragment.text


def test_a_live_refresh_keeps_a_conversation_marked_unread(signed_in, sessions, world):
    mine = text_in(sessions, world, body="call me", number="+12025550302")
    agent: Browser = signed_in("agent@example.com")
    agent.get(f"/inbox/{mine.id}")
    assert agent.post(f"/conversations/{mine.id}/unread").status_code in (200, 204)
    # A refresh that an open page fires after the agent marked it unread is not a new visit.
    assert agent.get(f"/inbox/{mine.id}/live", htmx=True).status_code == 200
    assert f'data-id="{mine.id}"' in agent.get("/inbox/list?view=unread", htmx=True).text
    agent.get(f"/inbox/{mine.id}")  # opening it again reads it
    assert f'data-id="{mine.id}"' not in agent.get("/inbox/list?view=unread", htmx=True).text


def test_lists_cards_and_table_show_name_or_number_inbox_assignee_and_unread(
    signed_in, sessions, world
):
    unnamed = text_in(sessions, world, body="who is this", number="+12025550321")
    named = text_in(sessions, world, body="it's Jo", number="+12025550322")
    with sessions() as session:
        row = session.get(Conversation, named.id)
        assert row is not None
        row.contact.name = "Jo <Lee>"
        session.commit()
    agent: Browser = signed_in("agent@example.com")
    agent.get(f"/inbox/{named.id}")  # read: no longer unread
    for url in ["/inbox/list", "/cards", "/list"]:
        page = agent.get(url, htmx=True).text
        assert "+12025550321" in page  # a contact without a name shows their number
        assert "Jo &lt;Lee&gt;" in page and "Jo <Lee>" not in page
        assert "Sales" in page and "Alex Agent" in page  # inbox, and the default assignee
        assert re.search(rf'class="[^"]*unread[^"]*"[^>]*data-id="{unnamed.id}"', page), url
        assert not re.search(rf'class="[^"]*unread[^"]*"[^>]*data-id="{named.id}"', page), url


def test_a_render_carries_the_feed_position_it_read(signed_in, sessions, world):
    """What the page compares to keep an older render off the screen: an action's answer
    carries a position that includes the action's own change, as does a refresh after it."""
    conversation = text_in(sessions, world, body="move me")
    manager: Browser = signed_in("manager@example.com")
    moved = manager.post(f"/conversations/{conversation.id}/move", {"inbox_id": world.support.id})
    with sessions() as session:
        newest = session.scalar(select(func.max(LiveEvent.id)))
    positions = set(re.findall(r'data-live-version="(\d+)"', moved.text))
    assert positions == {str(newest)}
    refreshed = manager.get(f"/inbox/{conversation.id}/live", htmx=True).text
    assert set(re.findall(r'data-live-version="(\d+)"', refreshed)) == {str(newest)}


def test_sort_and_inbox_filter(signed_in, sessions, world):
    first = text_in(sessions, world, body="first", number="+12025550311")
    second = text_in(sessions, world, body="second", number="+12025550312")
    text_in(sessions, world, body="first again", number="+12025550311")  # newest message
    manager: Browser = signed_in("manager@example.com")
    newest = manager.get("/inbox/list?sort=newest", htmx=True).text
    assert newest.index(f'data-id="{first.id}"') < newest.index(f'data-id="{second.id}"')
    added = manager.get("/inbox/list?sort=added", htmx=True).text
    assert added.index(f'data-id="{first.id}"') < added.index(f'data-id="{second.id}"')
    manager.post(f"/conversations/{second.id}/move", {"inbox_id": world.support.id})
    sales = manager.get(f"/inbox/list?inbox={world.sales.id}", htmx=True).text
    assert f'data-id="{second.id}"' not in sales and f'data-id="{first.id}"' in sales
    newest_rev = manager.get("/inbox/list?sort=bogus&view=bogus", htmx=True)
    assert newest_rev.status_code == 200  # bad values fall back to defaults


def test_search_matches_name_number_and_text_within_the_view(signed_in, sessions, world):
    a = text_in(sessions, world, body="Where is my 100% refund_?", number="+12025550321")
    b = text_in(sessions, world, body="Hello", number="+12025550322")
    manager: Browser = signed_in("manager@example.com")
    with sessions() as session:
        row = session.get(Conversation, b.id)
        row.contact.name = "Priya Patel"
        session.commit()

    def ids(q: str, view: str = "all") -> set[int]:
        html = manager.get("/inbox/list", htmx=True, params={"q": q, "view": view}).text
        return {c for c in (a.id, b.id) if f'data-id="{c}"' in html}

    assert ids("REFUND") == {a.id}
    assert ids("100%") == {a.id}
    assert ids("0%") == {a.id}
    assert ids("%") == {a.id}  # a literal percent sign, not a wildcard
    assert ids("_") == {a.id}
    assert ids("priya") == {b.id}
    assert ids("(202) 555-0322") == {b.id}
    assert ids("5550321") == {a.id}
    assert ids("refund", view="closed") == set()


def test_reply_renders_merge_fields_and_refuses_bad_input(signed_in, sessions, world, temporal):
    conversation = text_in(sessions, world, body="hi")
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        row.contact.name = "Jordan Lee"
        session.commit()
    agent: Browser = signed_in("agent@example.com")
    url = f"/conversations/{conversation.id}/reply"
    response = agent.post(url, {"body": "Hi {{ contact.first_name }}, I'm {{ agent.first_name }}"})
    assert response.status_code == 200
    assert "Hi Jordan, I&#39;m Alex" in response.text
    assert agent.post(url, {"body": "   "}).status_code == 422
    assert agent.post(url, {"body": "{{ contact.name"}).status_code == 422
    assert agent.post(url, {"body": "x" * 1601}).status_code == 422
    sandboxed = agent.post(url, {"body": "{{ contact.__class__.__mro__ }}"})
    assert sandboxed.status_code in (200, 422)
    with sessions() as session:
        bodies = list(
            session.scalars(select(Message.body).where(Message.direction == Direction.OUTBOUND))
        )
    assert bodies[0] == "Hi Jordan, I'm Alex"
    assert all("object" not in body for body in bodies)


def test_a_reply_on_a_closed_conversation_reopens_it(signed_in, sessions, world, temporal):
    conversation = text_in(sessions, world, body="thanks, all good")
    agent: Browser = signed_in("agent@example.com")
    base = f"/conversations/{conversation.id}"
    closed = agent.post(f"{base}/close")
    assert closed.status_code == 200 and "sending a reply reopens it" in closed.text
    reply = agent.post(f"{base}/reply", {"body": "One more thing: your refund went out today."})
    assert reply.status_code == 200 and "reopens it" not in reply.text
    with sessions() as session:
        row = session.get_one(Conversation, conversation.id)
        assert row.status == ConversationStatus.OPEN and row.closed_at is None
        kinds = [e.kind for e in session.scalars(select(ContactEvent).order_by(ContactEvent.id))]
        assert kinds[-2:] == ["conversation_closed", "conversation_reopened"]
    # The workflow hears the reopening first, then the reply.
    signals = [call["start_signal"] for call in temporal.calls]
    assert signals[-3:] == ["closed", "reopened", "message_sent"]


def test_actions_change_the_conversation(signed_in, sessions, world):
    conversation = text_in(sessions, world, body="hi")
    manager: Browser = signed_in("manager@example.com")
    base = f"/conversations/{conversation.id}"
    assert manager.post(f"{base}/assign", {"assignee_id": world.other_agent.id}).status_code == 200
    assert manager.post(f"{base}/move", {"inbox_id": world.support.id}).status_code == 200
    assert manager.post(f"{base}/notes", {"text": "VIP <b>customer</b>"}).status_code == 200
    assert manager.post(f"{base}/notes", {"text": " "}).status_code == 422
    closed = manager.post(f"{base}/close")
    assert closed.status_code == 200
    assert 'id="conv-header"' in closed.text and "HX-Trigger" in closed.headers
    assert manager.post(f"{base}/close").status_code == 409  # already closed: clear refusal
    assert manager.post(f"{base}/unread").status_code == 409  # closed cannot be unread
    assert manager.post(f"{base}/reopen").status_code == 200
    unread = manager.post(f"{base}/unread")
    assert unread.status_code == 204 and unread.headers["HX-Redirect"] == "/inbox"
    assert manager.post(f"{base}/spam").status_code == 200
    assert manager.post(f"{base}/nonsense").status_code == 404
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        assert (row.status, row.inbox_id, row.assignee_id) == (
            ConversationStatus.SPAM,
            world.support.id,
            world.other_agent.id,
        )
        kinds = list(
            session.scalars(
                select(ContactEvent.kind).where(ContactEvent.conversation_id == conversation.id)
            )
        )
        assert {"assigned", "moved", "note", "conversation_closed", "marked_spam"} <= set(kinds)


def test_agents_see_only_their_inboxes(signed_in, sessions, world):
    conversation = text_in(sessions, world, body="hi")  # lands in Sales (Alex's inbox)
    olive: Browser = signed_in("other@example.com")  # Support only
    assert olive.get(f"/inbox/{conversation.id}").status_code == 404
    assert olive.post(f"/conversations/{conversation.id}/close").status_code == 404
    assert olive.get(f"/contacts/{conversation.contact_id}").status_code == 404
    assert f'data-id="{conversation.id}"' not in olive.get("/inbox/list", htmx=True).text
    alex: Browser = signed_in("agent@example.com")
    # An agent cannot move a conversation to an inbox they are not in.
    response = alex.post(f"/conversations/{conversation.id}/move", {"inbox_id": world.support.id})
    assert response.status_code == 403
    # Once assigned to Olive she sees it, though it is not in her inbox.
    alex.post(f"/conversations/{conversation.id}/assign", {"assignee_id": world.other_agent.id})
    assert olive.get(f"/inbox/{conversation.id}").status_code == 200


def test_list_view_columns_sort_paging_and_bulk(signed_in, sessions, world):
    ids = [
        text_in(sessions, world, body=f"m{n}", number=f"+120255504{n:02d}").id for n in range(30)
    ]
    manager: Browser = signed_in("manager@example.com")
    page1 = manager.get("/list").text
    assert "page 1 of 2" in page1 and "30 conversations" in page1
    page2 = manager.get("/list?page=2", htmx=True).text
    assert page2.count('name="ids"') == 5 and "<html" not in page2
    asc = manager.get("/list?order=created&dir=asc", htmx=True).text
    assert asc.index(f'value="{ids[0]}"') < asc.index(f'value="{ids[1]}"')
    assert (
        manager.post("/list/columns", {"columns": ["number", "status", "bogus"]}).status_code == 204
    )
    table = manager.get("/list", htmx=True).text
    assert "col-number" in table and "col-preview" not in table
    response = manager.post("/list/bulk", {"action": "close", "ids": ids[:3]})
    assert response.status_code == 204 and "3 done" in response.headers["HX-Trigger"]
    again = manager.post("/list/bulk", {"action": "close", "ids": ids[:4]})
    assert "1 done, 3 skipped" in again.headers["HX-Trigger"]
    manager.post(
        "/list/bulk", {"action": "assign", "assignee_id": world.manager.id, "ids": ids[4:6]}
    )
    manager.post("/list/bulk", {"action": "move", "inbox_id": world.support.id, "ids": ids[6:8]})
    assert manager.post("/list/bulk", {"action": "explode", "ids": ids[:1]}).status_code == 422
    assert manager.post("/list/bulk", {"action": "close"}).status_code == 422
    with sessions() as session:
        rows = {c.id: c for c in session.scalars(select(Conversation))}
    assert [rows[i].status for i in ids[:4]] == ["closed"] * 4
    assert rows[ids[4]].assignee_id == world.manager.id
    assert rows[ids[6]].inbox_id == world.support.id
    olive: Browser = signed_in("other@example.com")
    assert olive.post("/list/bulk", {"action": "close", "ids": ids[10:11]}).status_code == 404


def test_cards_group_by_status_inbox_assignee(signed_in, sessions, world):
    conversation = text_in(sessions, world, body="hi")
    manager: Browser = signed_in("manager@example.com")
    for group, heading in [
        ("status", "Open"),
        ("inbox", "Sales"),
        ("assignee", "Alex Agent"),
        ("bogus", "Open"),
    ]:
        response = manager.get(f"/cards?group={group}")
        assert response.status_code == 200
        assert f'{heading} <span class="count">1</span>' in response.text
        assert f'data-id="{conversation.id}"' in response.text
    board = manager.get("/cards?group=inbox&sort=added", htmx=True).text
    assert 'id="board-wrap"' in board[:80] and "<html" not in board
    assert "list view</a> pages through" not in board


def test_cards_say_when_a_column_is_capped(signed_in, sessions, world, monkeypatch):
    from web.routes import cards

    monkeypatch.setattr(cards, "MAX_CARDS", 2)
    for n in range(3):
        text_in(sessions, world, body=f"m{n}", number=f"+120255506{n:02d}")
    board = signed_in("manager@example.com").get("/cards", htmx=True).text
    assert 'Open <span class="count">2</span>' in board
    assert "Showing the 2 newest of each kind" in board


def test_contact_page_and_inline_edit(signed_in, sessions, world):
    conversation = text_in(sessions, world, body="hi")
    agent: Browser = signed_in("agent@example.com")
    page = agent.get(f"/contacts/{conversation.contact_id}")
    assert page.status_code == 200 and "conversation started" in page.text.lower()
    assert f'href="/inbox/{conversation.id}"' in page.text
    form = agent.get(f"/contacts/{conversation.contact_id}/edit", htmx=True).text
    assert 'hx-target="this"' in form and 'hx-swap="outerHTML"' in form
    bad = agent.post(
        f"/contacts/{conversation.contact_id}", {"name": "Jo", "email": "not an email"}
    )
    assert bad.status_code == 422 and "does not look right" in bad.text
    saved = agent.post(
        f"/contacts/{conversation.contact_id}", {"name": "<Jo>", "email": "jo@example.com"}
    )
    assert saved.status_code == 200 and "&lt;Jo&gt;" in saved.text
    assert agent.get("/contacts/999999").status_code == 404


def test_new_conversation(signed_in, sessions, world):
    conversation = text_in(sessions, world, body="hi")
    agent: Browser = signed_in("agent@example.com")
    assert agent.get("/new").status_code == 200
    picker = agent.get("/new/contacts?contact_q=5550111", htmx=True).text
    assert 'id="contact-picker"' in picker and "+12025550111" in picker
    form = {
        "channel_id": world.channel.id,
        "contact_id": conversation.contact_id,
        "number": "+12025550111",
    }
    clash = agent.post("/new", form, htmx=False)
    assert clash.status_code == 409 and "already has an open conversation" in clash.text
    assert f'href="/inbox/{conversation.id}?compose=1" id="existing-conversation"' in clash.text
    hidden = signed_in("other@example.com").post("/new", form, htmx=False)  # not their inbox
    assert hidden.status_code in (409, 422) and 'id="existing-conversation"' not in hidden.text
    assert agent.post("/new", {**form, "channel_id": 999}, htmx=False).status_code == 422
    bad_number = agent.post(
        "/new", {"channel_id": world.channel.id, "new_number": "12"}, htmx=False
    )
    assert bad_number.status_code == 422
    created = agent.post(
        "/new",
        {"channel_id": world.channel.id, "new_name": "Sam", "new_number": "(415) 555-0199"},
        htmx=False,
    )
    assert created.status_code == 303 and created.headers["location"].endswith("?compose=1")
    with sessions() as session:
        new = session.scalar(
            select(Conversation).where(Conversation.contact_number == "+14155550199")
        )
        assert new is not None and new.contact.name == "Sam" and new.inbox_id == world.sales.id


def test_the_contact_picker_lists_named_contacts_first(signed_in, sessions, world):
    text_in(sessions, world, number="+12025550131", body="hi")  # known by number only
    named = text_in(sessions, world, number="+12025550132", body="hi")
    with sessions() as session:
        session.get_one(Conversation, named.id).contact.name = "Zoe Zed"
        session.commit()
    picker = signed_in("agent@example.com").get("/new/contacts", htmx=True).text
    options = re.findall(r"<option value=\"\d+\"[^>]*>([^<]*)</option>", picker)
    assert options.index("Zoe Zed · +12025550132") < options.index("+12025550131 · +12025550131")


def test_preferences_are_remembered(signed_in, sessions, world):
    agent: Browser = signed_in("agent@example.com")
    assert agent.post("/prefs/details", {"hidden": "1"}).status_code == 204
    assert "details-hidden" in agent.get("/inbox").text
    toggle = agent.post("/prefs/notifications", {"enabled": "0"})
    assert toggle.status_code == 200 and 'aria-checked="false"' in toggle.text
    with sessions() as session:
        user = session.get(User, world.agent.id)
        assert user.preferences["details_hidden"] is True
        assert user.notifications_enabled is False


def test_static_assets_are_served(client):
    for name in ("htmx.min.js", "htmx-ext-sse.min.js", "app.js", "app.css"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and len(response.content) > 1000, name
    assert b'version:"2.' in client.get("/static/htmx.min.js").content


@pytest.mark.parametrize("who", ["agent@example.com", "manager@example.com", "admin@example.com"])
def test_every_page_renders_for_every_role(signed_in, sessions, world, who):
    conversation = text_in(sessions, world, body="hi")
    browser: Browser = signed_in(who)
    for url in [
        "/inbox",
        f"/inbox/{conversation.id}",
        f"/inbox/{conversation.id}/live",
        "/list",
        "/cards",
        "/new",
        f"/contacts/{conversation.contact_id}",
    ]:
        assert browser.get(url).status_code == 200, (who, url)


def test_snooze_from_the_header_leaves_the_open_views_until_unsnoozed(signed_in, sessions, world):
    mine = text_in(sessions, world, body="later please", number="+12025550341")
    agent: Browser = signed_in("agent@example.com")
    page = agent.get(f"/inbox/{mine.id}").text
    assert 'id="snooze-menu"' in page and 'id="snooze-tomorrow"' in page
    refused = agent.post(f"/conversations/{mine.id}/snooze", data={"until": "2000-01-01T09:00"})
    assert refused.status_code == 422
    answer = agent.post(f"/conversations/{mine.id}/snooze", data={"until": "2099-06-01T09:30"})
    assert answer.status_code == 200
    assert "Snoozed until Mon 01 Jun, 09:30" in answer.text and 'id="btn-unsnooze"' in answer.text
    with sessions() as session:
        row = session.get_one(Conversation, mine.id)
        assert row.snoozed_until is not None
        # The picker's time is the inbox's.
        assert row.snoozed_until.astimezone(ZoneInfo(row.inbox.timezone)).hour == 9
    assert f'data-id="{mine.id}"' in agent.get("/inbox/list?view=snoozed", htmx=True).text
    for view in ("all", "mine"):
        listed = agent.get(f"/inbox/list?view={view}", htmx=True).text
        assert f'data-id="{mine.id}"' not in listed, view
    back = agent.post(f"/conversations/{mine.id}/unsnooze")
    assert back.status_code == 200 and 'id="snooze-menu"' in back.text
    assert "Back from snooze: ended by Alex Agent" in back.text
    assert f'data-id="{mine.id}"' in agent.get("/inbox/list?view=all", htmx=True).text
    assert agent.post(f"/conversations/{mine.id}/unsnooze").status_code == 409


def test_send_later_shows_scheduled_and_can_be_edited_then_cancelled(signed_in, sessions, world):
    mine = text_in(sessions, world, body="remind me tomorrow", number="+12025550342")
    agent: Browser = signed_in("agent@example.com")
    page = agent.get(f"/inbox/{mine.id}").text
    assert 'id="send-at"' in page
    past = agent.post(
        f"/conversations/{mine.id}/reply", data={"body": "Too late", "send_at": "2000-01-01T09:00"}
    )
    assert past.status_code == 422 and "Send later" in past.text
    answer = agent.post(
        f"/conversations/{mine.id}/reply",
        data={"body": "Good morning!", "send_at": "2099-06-01T08:15"},
    )
    assert answer.status_code == 200
    assert "Scheduled for Mon 01 Jun, 08:15" in answer.text
    with sessions() as session:
        message = session.scalars(
            select(Message).where(
                Message.conversation_id == mine.id, Message.body == "Good morning!"
            )
        ).one()
        assert message.status == "held"
        tz = ZoneInfo(session.get_one(Conversation, mine.id).inbox.timezone)
        assert message.held_until is not None and message.held_until.astimezone(tz).hour == 8
        message_id = message.id
    assert 'value="2099-06-01T08:15"' in answer.text  # the edit form starts from it
    edited = agent.post(
        f"/conversations/{mine.id}/messages/{message_id}/reschedule",
        data={"body": "Good afternoon!", "send_at": "2099-06-01T14:00"},
    )
    assert edited.status_code == 200 and "Scheduled for Mon 01 Jun, 14:00" in edited.text
    assert "Good afternoon!" in edited.text
    cancelled = agent.post(f"/conversations/{mine.id}/messages/{message_id}/cancel")
    assert cancelled.status_code == 200 and "Cancelled by Alex Agent" in cancelled.text
    again = agent.post(
        f"/conversations/{mine.id}/messages/{message_id}/reschedule",
        data={"body": "x", "send_at": "2099-06-01T14:00"},
    )
    assert again.status_code == 409
