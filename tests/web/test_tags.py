"""Tags by hand: the service (normalising, timeline, refusals), the header's add / remove
routes, suggestions, the tags shown in every view, the tag filter and ``tag:`` search."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from inbox.models import ContactEvent, Conversation, EventKind, LiveEvent
from inbox.services import tags, visibility
from inbox.services.conversations import ConversationActionError
from tests.web.conftest import text_in


@pytest.mark.parametrize(
    ("given", "stored"),
    [("  VIP ", "vip"), ("Follow  up", "follow-up"), ("a" * 40, "a" * 40), ("Größe", "größe")],
)
def test_tags_are_normalised(given, stored):
    assert tags.normalise(given) == stored


@pytest.mark.parametrize(
    ("given", "error"),
    [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("vip,urgent", "commas"),
        ("a\x07b", "control characters"),
        ("a" * 41, r"at most 40 characters \(41 given\)"),
    ],
)
def test_bad_tags_are_refused_naming_the_field(given, error):
    with pytest.raises(ConversationActionError, match=error) as raised:
        tags.normalise(given)
    assert raised.value.field == "tag"


def test_add_and_remove_log_on_the_timeline_and_tell_live_pages(sessions, world):
    conversation = text_in(sessions, world, body="hello")
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        tags.add_tag(session, conversation=row, tag=" VIP ", actor_id=world.agent.id)
        session.commit()
        assert row.tags == ["vip"]
        with pytest.raises(ConversationActionError, match="already tagged 'vip'"):
            tags.add_tag(session, conversation=row, tag="vip")
        tags.remove_tag(session, conversation=row, tag="VIP", actor_id=world.agent.id)
        session.commit()
        assert row.tags == []
        with pytest.raises(ConversationActionError, match="not tagged 'vip'"):
            tags.remove_tag(session, conversation=row, tag="vip")
        events = session.scalars(
            select(ContactEvent)
            .where(ContactEvent.conversation_id == row.id)
            .where(ContactEvent.kind.in_([EventKind.TAGGED, EventKind.UNTAGGED]))
            .order_by(ContactEvent.id)
        ).all()
        assert [(e.kind, e.summary, e.data) for e in events] == [
            ("tagged", "Tagged vip by Alex Agent", {"tag": "vip"}),
            ("untagged", "Removed tag vip by Alex Agent", {"tag": "vip"}),
        ]
        kinds = session.scalars(
            select(LiveEvent.kind).where(LiveEvent.conversation_id == row.id)
        ).all()
        assert kinds.count("conversation.updated") >= 2


def test_a_conversation_has_at_most_twenty_tags(sessions, world):
    conversation = text_in(sessions, world, body="hello")
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        for n in range(tags.MAX_TAGS):
            tags.add_tag(session, conversation=row, tag=f"t{n}")
        with pytest.raises(ConversationActionError, match="at most 20 tags"):
            tags.add_tag(session, conversation=row, tag="one-more")


def test_integrations_cannot_log_fake_tag_events(sessions, world):
    conversation = text_in(sessions, world, body="hello")
    from inbox.services.conversations import add_contact_event

    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        with pytest.raises(ConversationActionError, match="cannot be logged"):
            add_contact_event(session, contact=row.contact, kind="tagged", conversation=row)


def test_tags_in_use_honour_visibility_and_prefix(sessions, world):
    sales = text_in(sessions, world, body="a", number="+12025550111")
    support = text_in(sessions, world, body="b", number="+12025550122")
    with sessions() as session:
        row = session.get(Conversation, support.id)
        row.inbox_id = world.support.id
        row.assignee_id = None  # the agent sees what is assigned to them wherever it is
        tags.add_tag(session, conversation=row, tag="secret-support")
        tags.add_tag(session, conversation=session.get(Conversation, sales.id), tag="vip")
        tags.add_tag(session, conversation=session.get(Conversation, sales.id), tag="billing")
        session.commit()
        agent = visibility.scope_for_user(session, world.agent)
        assert tags.tags_in_use(session, agent) == ["billing", "vip"]
        assert tags.tags_in_use(session, agent, prefix="V") == ["vip"]
        assert tags.tags_in_use(session, visibility.EVERYTHING) == [
            "billing",
            "secret-support",
            "vip",
        ]
        # A prefix's LIKE wildcards are literal.
        assert tags.tags_in_use(session, visibility.EVERYTHING, prefix="%") == []
        # Control characters are no part of a tag (and PostgreSQL refuses NUL in a query).
        assert tags.tags_in_use(session, agent, prefix="v\x00") == ["vip"]


def test_agent_tags_in_the_header_and_sees_the_tag_everywhere(sessions, world, signed_in):
    tagged = text_in(sessions, world, body="Pricing please", number="+12025550111")
    other = text_in(sessions, world, body="Hello", number="+12025550122")
    agent = signed_in("agent@example.com")

    page = agent.get(f"/inbox/{tagged.id}")
    assert 'id="tag-input"' in page.text and 'list="tag-suggestions"' in page.text

    added = agent.post(f"/conversations/{tagged.id}/tags", {"tag": " Hot Lead "})
    assert added.status_code == 200, added.text
    assert 'data-tag="hot-lead"' in added.text  # the header, swapped out of band
    assert "Tagged hot-lead by Alex Agent" in added.text  # the timeline
    assert added.headers["HX-Trigger"] == "list-refresh"

    again = agent.post(f"/conversations/{tagged.id}/tags", {"tag": "hot-lead"})
    assert again.status_code == 409 and "already tagged" in again.text
    bad = agent.post(f"/conversations/{tagged.id}/tags", {"tag": "a,b"})
    assert bad.status_code == 422 and "commas" in bad.text

    suggestions = agent.get("/tags/suggest?tag=ho", htmx=True)
    assert '<option value="hot-lead"></option>' in suggestions.text

    # Shown in the inbox list, the list view (Tags column) and the cards.
    for url in ["/inbox/list", "/list", "/cards"]:
        body = agent.get(url, htmx=True).text
        assert '<span class="conv-tag">hot-lead</span>' in body, url

    # Filtered on in every view, and kept in links (paging, opening a conversation).
    for url in ["/inbox/list?tag=Hot-Lead", "/list?tag=hot-lead", "/cards?tag=hot-lead"]:
        body = agent.get(url, htmx=True).text
        assert f'data-id="{tagged.id}"' in body, url
        assert f'data-id="{other.id}"' not in body, url
    listed = agent.get("/inbox/list?tag=hot-lead", htmx=True).text
    assert "tag=hot-lead" in listed
    assert "tag=hot-lead" in agent.get("/list?tag=hot-lead&order=status", htmx=True).text
    # A malformed tag filter finds nothing rather than everything.
    assert 'data-id="' not in agent.get("/inbox/list?tag=a,b", htmx=True).text

    # ``tag:`` in the search, alone or with text.
    found = agent.get("/inbox/list?q=tag:hot-lead", htmx=True).text
    assert f'data-id="{tagged.id}"' in found and f'data-id="{other.id}"' not in found
    assert f'data-id="{tagged.id}"' in agent.get("/list?q=tag:HOT-LEAD+pricing", htmx=True).text
    assert 'data-id="' not in agent.get("/list?q=tag:hot-lead+nomatch", htmx=True).text

    removed = agent.post(f"/conversations/{tagged.id}/tags/remove", {"tag": "hot-lead"})
    assert removed.status_code == 200
    assert 'data-tag="hot-lead"' not in removed.text
    assert "Removed tag hot-lead by Alex Agent" in removed.text
    assert f'data-id="{tagged.id}"' not in agent.get("/inbox/list?tag=hot-lead", htmx=True).text


def test_tag_routes_need_csrf_and_visibility(sessions, world, signed_in):
    conversation = text_in(sessions, world, body="hello")
    other = signed_in("other@example.com")  # Support only: cannot see a Sales conversation
    assert other.post(f"/conversations/{conversation.id}/tags", {"tag": "x"}).status_code == 404
    agent = signed_in("agent@example.com")
    response = agent.post(f"/conversations/{conversation.id}/tags", {"tag": "x"}, csrf=False)
    assert response.status_code == 403


def test_a_rule_condition_sees_a_tag_added_by_hand(sessions, world):
    from inbox.models import utcnow
    from inbox.rules import engine
    from inbox.rules.snapshot import build_facts

    conversation = text_in(sessions, world, body="hello")
    condition = [{"conversation.tags": {"includes": "vip"}}]
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        assert not engine.evaluate(condition, build_facts(session, row, utcnow()), utcnow()).ok
        tags.add_tag(session, conversation=row, tag="VIP", actor_id=world.agent.id)
        session.commit()
    with sessions() as session:
        row = session.get(Conversation, conversation.id)
        assert engine.evaluate(condition, build_facts(session, row, utcnow()), utcnow()).ok


def test_a_rule_tags_in_the_same_spelling(sessions, world):
    from inbox.rules.actions import Tag

    assert Tag(tag="  Follow Up ").tag == "follow-up"
    with pytest.raises(ValueError, match="commas"):
        Tag(tag="a,b")


def test_the_tag_filter_matches_whole_tags_only(sessions, world):
    from sqlalchemy import select as select_

    spelled = {"a_b": "+12025550131", "axb": "+12025550132", "größe": "+12025550133",
               'say-"vip"': "+12025550134", "vip-customer": "+12025550135"}  # fmt: skip
    ids = {tag: text_in(sessions, world, body="hi", number=n).id for tag, n in spelled.items()}
    with sessions() as session:
        for tag, conversation_id in ids.items():
            tags.add_tag(session, conversation=session.get(Conversation, conversation_id), tag=tag)
        session.commit()
        for tag in [*spelled, "vip", "a%b"]:
            found = session.scalars(
                select_(Conversation.id).where(tags.has_tag(session, tag))
            ).all()
            assert found == ([ids[tag]] if tag in ids else []), tag
