"""Canned replies: scopes (shared, per inbox, personal), validation, the composer's picker,
the settings page for admins and each user's own replies on the account page."""

from __future__ import annotations

import html
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox.models import AuditLog, CannedReply, CannedScope, Message, User
from inbox.services import canned_replies
from inbox.services.admin.errors import SettingsError
from tests.web.conftest import World, text_in


def _create(session: Session, scope: str, title: str, body: str = "Body", **kw: Any) -> CannedReply:
    reply = canned_replies.create(session, scope=scope, title=title, body=body, **kw)
    session.commit()
    return reply


def _exists(session: Session, reply_id: int) -> bool:
    session.expire_all()
    return session.scalar(select(CannedReply.id).where(CannedReply.id == reply_id)) is not None


def _titles(replies: list[CannedReply]) -> list[str]:
    return [r.title for r in replies]


@pytest.fixture
def replies(session: Session, world: World) -> dict[str, CannedReply]:
    return {
        "shared": _create(session, CannedScope.SHARED, "Shipping times", "Orders ship in 2 days."),
        "sales": _create(session, CannedScope.INBOX, "Sales pricing", "Plans start at $10.",
                         inbox_id=world.sales.id),
        "support": _create(session, CannedScope.INBOX, "Support hours", "We answer 9-5.",
                           inbox_id=world.support.id),
        "mine": _create(session, CannedScope.PERSONAL, "My signature", "Cheers, Alex",
                        owner_id=world.agent.id),
        "theirs": _create(session, CannedScope.PERSONAL, "Olive's sign-off", "Bye, Olive",
                          owner_id=world.other_agent.id),
    }  # fmt: skip


# --- the service -------------------------------------------------------------------------


def test_search_offers_shared_this_inboxs_and_ones_own(session, world, replies):
    agent = session.get_one(User, world.agent.id)
    found = canned_replies.search(session, user=agent, inbox_id=world.sales.id)
    assert _titles(found) == ["My signature", "Sales pricing", "Shipping times"]
    other = session.get_one(User, world.other_agent.id)
    found = canned_replies.search(session, user=other, inbox_id=world.support.id)
    assert _titles(found) == ["Olive's sign-off", "Shipping times", "Support hours"]


def test_search_matches_title_then_body_case_insensitively(session, world, replies):
    agent = session.get_one(User, world.agent.id)
    assert _titles(canned_replies.search(session, user=agent, inbox_id=world.sales.id,
                                         query="SHIP")) == ["Shipping times"]  # fmt: skip
    # "s" starts two titles and is inside the third: title prefixes come first.
    found = canned_replies.search(session, user=agent, inbox_id=world.sales.id, query="s")
    assert _titles(found) == ["Sales pricing", "Shipping times", "My signature"]
    by_body = canned_replies.search(session, user=agent, inbox_id=world.sales.id, query="$10")
    assert _titles(by_body) == ["Sales pricing"]
    # LIKE's wildcards are plain characters here.
    assert canned_replies.search(session, user=agent, inbox_id=world.sales.id, query="%") == []


@pytest.mark.parametrize(
    ("title", "body", "message"),
    [
        ("", "Hi", "title: give the reply a title"),
        ("   ", "Hi", "title: give the reply a title"),
        ("Hi", "", "body: the reply's text is empty"),
        ("Hi", " \n ", "body: the reply's text is empty"),
        ("Hi", "x" * 1601, "body: 1601 characters; a message holds at most 1600"),
        ("x" * 101, "Hi", "title: at most 100 characters"),
    ],
)
def test_empty_or_too_long_is_refused(session, world, title, body, message):
    with pytest.raises(SettingsError, match=message.replace("$", r"\$")):
        canned_replies.create(session, scope=CannedScope.SHARED, title=title, body=body)


def test_a_body_of_exactly_1600_characters_is_kept(session, world):
    reply = _create(session, CannedScope.SHARED, "Long", "x" * 1600)
    assert len(reply.body) == 1600


def test_a_title_is_unique_within_its_scope_only(session, world, replies):
    with pytest.raises(SettingsError, match="another shared reply is called 'shipping TIMES'"):
        canned_replies.create(session, scope=CannedScope.SHARED, title="shipping TIMES", body="x")
    with pytest.raises(SettingsError, match="another reply of this inbox"):
        canned_replies.create(session, scope=CannedScope.INBOX, inbox_id=world.sales.id,
                              title="Sales pricing", body="x")  # fmt: skip
    with pytest.raises(SettingsError, match="another of your replies"):
        canned_replies.create(session, scope=CannedScope.PERSONAL, owner_id=world.agent.id,
                              title="My signature", body="x")  # fmt: skip
    with pytest.raises(SettingsError, match="another shared reply"):  # spaces around: same
        canned_replies.create(session, scope=CannedScope.SHARED, title=" Shipping times ", body="y")
    other = _create(session, CannedScope.SHARED, "Returns")
    with pytest.raises(SettingsError, match="another shared reply"):  # renamed onto another
        canned_replies.update(session, reply=other, title="Shipping times", body="y")
    session.rollback()
    # The same title in another scope, another inbox or another agent's replies is fine.
    _create(session, CannedScope.INBOX, "Shipping times", inbox_id=world.sales.id)
    _create(session, CannedScope.INBOX, "Sales pricing", inbox_id=world.support.id)
    _create(session, CannedScope.PERSONAL, "My signature", owner_id=world.other_agent.id)
    # Saving a reply under its own title is no clash.
    canned_replies.update(session, reply=replies["shared"], title="Shipping times", body="New")
    assert replies["shared"].body == "New"


def test_an_inbox_reply_needs_an_inbox_and_shared_ones_are_audited(session, world):
    with pytest.raises(SettingsError, match="inbox: choose the inbox"):
        canned_replies.create(session, scope=CannedScope.INBOX, title="A", body="B")
    with pytest.raises(SettingsError, match="scope: shared, inbox or personal"):
        canned_replies.create(session, scope="team", title="A", body="B")
    reply = _create(session, CannedScope.SHARED, "A", actor_id=world.admin.id)
    _create(session, CannedScope.PERSONAL, "Mine", owner_id=world.agent.id)
    canned_replies.delete(session, reply=reply, actor_id=world.admin.id)
    session.commit()
    actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["canned_reply.create", "canned_reply.delete"]  # personal: not audited


# --- the composer's picker -----------------------------------------------------------------


def test_the_picker_lists_what_the_agent_may_use_in_this_conversation(
    sessions, world, replies, signed_in
):
    convo = text_in(sessions, world, body="Hello")  # lands in Sales
    agent = signed_in("agent@example.com")
    page = agent.get(f"/conversations/{convo.id}/canned-replies?q=", htmx=True)
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Shipping times" in text and "Sales pricing" in text and "My signature" in text
    assert "Support hours" not in text and "Olive" not in text
    assert 'data-body="Orders ship in 2 days."' in page.text
    narrowed = agent.get(f"/conversations/{convo.id}/canned-replies?q=ship", htmx=True)
    assert "Shipping times" in narrowed.text and "Sales pricing" not in narrowed.text
    none = agent.get(f"/conversations/{convo.id}/canned-replies?q=zzz", htmx=True)
    assert "No canned reply matches" in html.unescape(none.text)
    # The other agent is not of Sales: no conversation for them, so no replies either.
    other = signed_in("other@example.com")
    assert other.get(f"/conversations/{convo.id}/canned-replies?q=").status_code == 404


def test_the_composer_offers_the_picker(sessions, world, signed_in):
    convo = text_in(sessions, world, body="Hello")
    page = signed_in("agent@example.com").get(f"/inbox/{convo.id}")
    assert f'data-canned-url="/conversations/{convo.id}/canned-replies"' in page.text
    assert 'id="canned-picker"' in page.text


def test_an_inserted_reply_renders_its_merge_fields_on_send(sessions, session, world, signed_in):
    convo = text_in(sessions, world, body="Hello", number="+12025550142")
    reply = _create(session, CannedScope.SHARED, "Greeting", "Hi {{ agent.first_name }} here")
    agent = signed_in("agent@example.com")
    picker = agent.get(f"/conversations/{convo.id}/canned-replies?q=greet", htmx=True)
    assert f'data-body="{html.escape(reply.body, quote=True)}"' in picker.text
    sent = agent.post(f"/conversations/{convo.id}/reply", data={"body": reply.body})
    assert sent.status_code == 200, sent.text
    session.expire_all()
    bodies = session.scalars(select(Message.body).where(Message.conversation_id == convo.id))
    assert "Hi Alex here" in list(bodies)


# --- settings (admins) and the account page (one's own) -------------------------------------


def test_admins_add_edit_and_remove_shared_and_inbox_replies(session, world, signed_in):
    admin = signed_in("admin@example.com")
    added = admin.post(
        "/settings/canned-replies",
        htmx=False,
        data={"inbox_id": "", "title": "Shipping times", "body": "Two days."},
    )
    assert added.status_code == 303
    admin.post(
        "/settings/canned-replies",
        htmx=False,
        data={"inbox_id": str(world.sales.id), "title": "Pricing", "body": "$10"},
    )
    page = admin.get("/settings/canned-replies")
    assert "Shipping times" in page.text and "Pricing" in page.text
    assert 'href="/settings/canned-replies"' in page.text  # in the settings navigation
    shared = session.scalars(select(CannedReply).where(CannedReply.title == "Shipping times")).one()
    assert shared.scope == CannedScope.SHARED
    inbox = session.scalars(select(CannedReply).where(CannedReply.title == "Pricing")).one()
    assert (inbox.scope, inbox.inbox_id) == (CannedScope.INBOX, world.sales.id)
    edited = admin.post(f"/settings/canned-replies/{shared.id}", htmx=False,
                        data={"title": "Shipping", "body": "Three days."})  # fmt: skip
    assert edited.status_code == 303
    session.refresh(shared)
    assert (shared.title, shared.body) == ("Shipping", "Three days.")
    assert admin.post(f"/settings/canned-replies/{inbox.id}/delete", htmx=False).status_code == 303
    assert not _exists(session, inbox.id)


def test_the_settings_page_explains_what_it_refuses(session, world, replies, signed_in):
    admin = signed_in("admin@example.com")
    for data, message in [
        ({"title": "", "body": "x"}, "title: give the reply a title"),
        ({"title": "New", "body": ""}, "body: the reply&#39;s text is empty"),
        ({"title": "New", "body": "x" * 1601}, "a message holds at most 1600"),
        ({"title": "Shipping times", "body": "x"}, "another shared reply is called"),
    ]:
        refused = admin.post("/settings/canned-replies", htmx=False, data=data)
        assert refused.status_code == 422
        assert message in refused.text, message
        assert 'id="settings-error"' in refused.text
    # Someone's personal reply is nobody's business in settings, admins' neither.
    page = admin.get("/settings/canned-replies")
    assert "My signature" not in page.text
    mine = replies["mine"]
    assert admin.post(f"/settings/canned-replies/{mine.id}/delete", htmx=False).status_code == 404


def test_agents_keep_their_own_and_cannot_touch_shared_ones(session, world, replies, signed_in):
    agent = signed_in("agent@example.com")
    assert 'href="/account/canned-replies"' in agent.get("/account").text
    page = agent.get("/account/canned-replies")
    assert "My signature" in page.text and "Olive" not in page.text
    assert "Orders ship in 2 days." not in page.text  # shared replies are managed in settings
    added = agent.post(
        "/account/canned-replies",
        htmx=False,
        data={"title": "Follow-up", "body": "Any news, {{ contact.first_name }}?"},
    )
    assert added.status_code == 303
    mine = session.scalars(select(CannedReply).where(CannedReply.title == "Follow-up")).one()
    assert (mine.scope, mine.owner_id) == (CannedScope.PERSONAL, world.agent.id)
    duplicate = agent.post("/account/canned-replies", htmx=False,
                           data={"title": "follow-up", "body": "x"})  # fmt: skip
    assert duplicate.status_code == 422 and "another of your replies" in duplicate.text
    # Not theirs: another agent's personal reply and the shared one are "not found".
    for reply in (replies["theirs"], replies["shared"], replies["sales"]):
        assert agent.post(f"/account/canned-replies/{reply.id}", htmx=False,
                          data={"title": "Hacked", "body": "x"}).status_code == 404  # fmt: skip
        assert agent.post(f"/account/canned-replies/{reply.id}/delete",
                          htmx=False).status_code == 404  # fmt: skip
    for path in ("/settings/canned-replies", f"/settings/canned-replies/{replies['shared'].id}"):
        assert agent.post(path, htmx=False, data={"title": "x", "body": "y"}).status_code == 403
    session.expire_all()
    assert session.get_one(CannedReply, replies["theirs"].id).title == "Olive's sign-off"
    assert session.get_one(CannedReply, replies["shared"].id).title == "Shipping times"
    assert agent.post(f"/account/canned-replies/{mine.id}/delete", htmx=False).status_code == 303
    assert not _exists(session, mine.id)
