"""Full-text search: the index on both databases, kept in step by every write, odd input that
must not error, and search that honours the view, the inbox filter and who may see what."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from inbox.models import Contact, ContactNumber, Conversation, ConversationStatus, Message, User
from inbox.search_index import POSTGRES_INDEXES, SEARCH_CONTACTS, SEARCH_MESSAGES
from tests.web.conftest import Browser, World, text_in
from web import queries, search
from web.queries import (
    Count,
    ListQuery,
    Sort,
    View,
    count_conversations,
    filtered,
    list_conversations,
)
from web.routes import list_view
from web.search import fts_phrase, number_digits, search_clause


def found(session: Session, query: str) -> set[int]:
    """Conversation ids the search function matches."""
    return set(session.scalars(select(Conversation.id).where(search_clause(session, query))))


def test_the_search_index_exists_and_is_used(session, world):
    if session.get_bind().dialect.name == "sqlite":
        tables = set(session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'table'")))
        assert {SEARCH_MESSAGES, SEARCH_CONTACTS} <= tables
        sql = str(
            select(Conversation.id)
            .where(search_clause(session, "refund"))
            .compile(session.get_bind())
        )
        assert sql.count(" MATCH ") == 2  # messages and contacts, from the FTS5 tables
        plan = " ".join(
            str(row[-1])
            for row in session.execute(
                text(
                    f"EXPLAIN QUERY PLAN SELECT rowid FROM {SEARCH_MESSAGES} WHERE "
                    f"{SEARCH_MESSAGES} MATCH :q"
                ),
                {"q": fts_phrase("refund")},
            )
        )
        assert "VIRTUAL TABLE INDEX" in plan
    else:
        names = set(session.scalars(text("SELECT indexname FROM pg_indexes")))
        assert set(POSTGRES_INDEXES) <= names
        session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            session.scalars(text("EXPLAIN SELECT id FROM messages WHERE body ILIKE '%refund%'"))
        )
        assert "ix_messages_body_trgm" in plan
        session.rollback()


def test_index_follows_every_write(sessions: sessionmaker[Session], world: World):
    a = text_in(sessions, world, body="The parcel never arrived", number="+12025550401")
    with sessions() as session:
        assert found(session, "parcel") == {a.id}
        # Edit the message body: the old words go, the new ones come.
        message = session.scalars(select(Message).where(Message.conversation_id == a.id)).one()
        message.body = "The package arrived late"
        contact = session.get(Contact, a.contact_id)
        assert contact is not None
        contact.name = "Zora Quist"
        contact.numbers.append(ContactNumber(number="+447700900123"))
        session.commit()
        assert found(session, "parcel") == set()
        assert found(session, "package") == {a.id}
        assert found(session, "zora q") == {a.id}
        assert found(session, "7700 900123") == {a.id}  # a second number, formatted
        contact.name = "Zed"
        session.delete(contact.numbers[1])
        session.commit()
        assert found(session, "zora") == set()
        assert found(session, "900123") == set()
        session.delete(message)
        session.commit()
        assert found(session, "package") == set()


def test_numbers_match_with_or_without_formatting(sessions, world):
    a = text_in(sessions, world, body="hi", number="+12025550411")
    text_in(sessions, world, body="hello", number="+12025550412")
    with sessions() as session:
        for query in ["+1 (202) 555-0411", "202.555.0411", "2025550411", "555-0411", "0411"]:
            assert found(session, query) == {a.id}, query
    assert number_digits("call 555") == ""  # words with digits are text, not a number


def test_short_queries_still_search(sessions, world):
    a = text_in(sessions, world, body="ok 5%", number="+12025550421")
    text_in(sessions, world, body="fine", number="+12025550422")
    with sessions() as session:
        assert found(session, "5%") == {a.id}  # below the trigram length: a LIKE scan
        assert found(session, "%") == {a.id}
        assert found(session, "OK") == {a.id}


ODD_QUERIES = [
    '"foo',
    '"',
    '""',
    "AND",
    "OR",
    "NOT",
    "foo AND",
    "NEAR(a b)",
    "name:",
    "numbers : 1",
    "{name numbers}: x",
    "*",
    "foo*",
    "^foo",
    "a'b",
    "\\",
    "%_%",
    "ab\x00cd",
    "x" * 500,
    "emoji 🙂 test",
    "-",
    "()",
]


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_odd_input_never_errors(signed_in, sessions, world, query):
    text_in(sessions, world, body='He said "foo AND bar" then NEAR(a b)', number="+12025550431")
    manager: Browser = signed_in("manager@example.com")
    for url in ["/inbox/list", "/list", "/cards", "/inbox"]:
        response = manager.get(url, htmx=True, params={"q": query})
        assert response.status_code == 200, (url, query, response.text[:200])


def test_operators_are_searched_as_plain_text(sessions, world):
    a = text_in(sessions, world, body='He said "foo AND bar" then NEAR(a b)', number="+12025550441")
    text_in(sessions, world, body="foo bar", number="+12025550442")
    with sessions() as session:
        assert found(session, '"foo AND') == {a.id}
        assert found(session, "NEAR(a") == {a.id}
        assert found(session, "foo bar") - {a.id}  # the plain one matches, as a phrase


def test_search_honours_view_inbox_filter_and_visibility(signed_in, sessions, world):
    sales = text_in(sessions, world, body="refund please", number="+12025550451")
    support = text_in(sessions, world, body="refund now", number="+12025550452")
    closed = text_in(sessions, world, body="refund done", number="+12025550453")
    manager: Browser = signed_in("manager@example.com")
    manager.post(f"/conversations/{support.id}/move", {"inbox_id": world.support.id})
    manager.post(f"/conversations/{support.id}/assign", {"assignee_id": ""})
    manager.post(f"/conversations/{closed.id}/close")
    every = {sales.id, support.id, closed.id}

    def ids(browser: Browser, url: str, **params: str) -> set[int]:
        html = browser.get(url, htmx=True, params={"q": "REFUND", **params}).text
        return {c for c in every if f'data-id="{c}"' in html}

    assert ids(manager, "/inbox/list") == {sales.id, support.id}
    assert ids(manager, "/inbox/list", view="closed") == {closed.id}
    assert ids(manager, "/inbox/list", inbox=str(world.support.id)) == {support.id}
    assert ids(manager, "/inbox/list", view="unassigned") == {support.id}
    # The agent belongs to Sales only: the Support conversation never shows.
    agent: Browser = signed_in("agent@example.com")
    assert ids(agent, "/inbox/list") == {sales.id}
    assert ids(agent, "/inbox/list", view="mine") == {sales.id}
    list_html = manager.get("/list", htmx=True, params={"q": "refund done", "view": "closed"})
    assert "refund done" in list_html.text
    assert "refund please" not in list_html.text
    cards = manager.get("/cards", htmx=True, params={"q": "refund now"}).text
    assert "refund now" in cards and "refund please" not in cards


@pytest.fixture
def many(factory, session: Session, world: World) -> list[Conversation]:
    """Forty conversations across statuses, inboxes and assignees, with ties on
    ``last_message_at`` (the id decides), "refund" in some messages and some names, and a
    non-ASCII text."""
    statuses = [ConversationStatus.OPEN] * 3 + [ConversationStatus.CLOSED, ConversationStatus.SPAM]
    assignees = [world.agent.id, world.other_agent.id, None]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    made = []
    for n in range(40):
        contact = factory.contact(name="Refund Rita" if n % 11 == 0 else f"Person {n}")
        conversation = factory.conversation(
            channel=world.channel,
            contact=contact,
            inbox_id=(world.sales if n % 4 else world.support).id,
            status=statuses[n % 5],
            assignee_id=assignees[n % 3],
            created_at=base + timedelta(hours=n),
            last_message_at=base + timedelta(days=n % 7),
        )
        bodies = ["hello there", "REFUND please" if n % 3 == 0 else "thanks", "Größe ÄRGER"]
        for i, body in enumerate(bodies):
            session.add(
                Message(
                    conversation_id=conversation.id,
                    contact_id=contact.id,
                    channel_id=world.channel.id,
                    direction="inbound" if i % 2 == 0 else "outbound",
                    body=body,
                    from_number=conversation.contact_number,
                    to_number="+14155550100",
                    provider="simulator",
                    status="received",
                )
            )
        made.append(conversation)
    session.commit()
    return made


def reference(session: Session, user: User, query: ListQuery) -> list[int]:
    """The conversations a search should list, computed the plain way: every conversation of
    the view, tested in Python, sorted in Python."""
    allowed = set(
        session.scalars(
            filtered(session, user, replace(query, q="")).with_only_columns(Conversation.id)
        )
    )
    needle = query.q.lower()
    hits = []
    for conversation in session.scalars(select(Conversation).where(Conversation.id.in_(allowed))):
        bodies = session.scalars(
            select(Message.body).where(Message.conversation_id == conversation.id)
        )
        if needle in conversation.contact.name.lower() or any(needle in b.lower() for b in bodies):
            hits.append(conversation)
    if query.sort is Sort.ADDED:
        hits.sort(key=lambda c: (c.created_at, c.id))
    elif query.sort is Sort.DUE:
        hits.sort(key=lambda c: (c.sla_due_at is None, c.sla_due_at or c.created_at, c.id))
    else:
        hits.sort(key=lambda c: (c.last_message_at, c.id), reverse=True)
    return [c.id for c in hits]


@pytest.mark.parametrize("q", ["refund", "REF", "und", "re", "hello", "thanks"])
def test_a_common_word_walks_the_view_and_finds_the_same_in_the_same_order(
    session: Session,
    world: World,
    many: list[Conversation],
    monkeypatch: pytest.MonkeyPatch,
    q: str,
):
    queries = [
        ListQuery(view=view, sort=sort, inbox_id=inbox, q=q)
        for view in View
        for sort in Sort
        for inbox in (None, world.support.id)
    ]
    for user in (world.manager, world.agent):
        for query in queries:
            expected = reference(session, user, query)
            for cap in (10_000, 1):  # the id set, then a walk (every word is common)
                monkeypatch.setattr(search, "PROBE_CAP", cap)
                session.info.clear()
                assert search.walks(session, q) is (cap == 1), (q, cap)
                pages = [
                    [row.id for row in list_conversations(session, user, query, limit=7, offset=o)]
                    for o in range(0, 42, 7)
                ]
                assert [i for page in pages for i in page] == expected, (user.email, query, cap)
                assert count_conversations(session, user, query).value == len(expected)


def test_a_walk_tests_each_conversation(session: Session, monkeypatch: pytest.MonkeyPatch):
    def sql(**kw: bool) -> str:
        session.info.clear()
        return str(select(Conversation.id).where(search_clause(session, "refund", **kw)).compile())

    correlated = "messages.conversation_id = conversations.id"
    monkeypatch.setattr(search, "PROBE_CAP", 0)
    assert correlated in sql()
    assert correlated not in sql(walk=False)
    monkeypatch.setattr(search, "PROBE_CAP", 10)
    assert correlated not in sql()  # no message matches: a rare word


def test_non_ascii_text_on_sqlite_is_never_walked(
    session: Session, world: World, many, monkeypatch
):
    # SQLite's LIKE folds only ASCII case, its FTS5 index every letter: a walk would differ.
    monkeypatch.setattr(search, "PROBE_CAP", 1)
    sqlite = session.get_bind().dialect.name == "sqlite"
    assert search.walks(session, "größe") is not sqlite
    query = ListQuery(q="ärger")
    assert [r.id for r in list_conversations(session, world.manager, query, limit=100)] == (
        reference(session, world.manager, query)
    )


def test_a_common_word_count_stops_at_the_cap(
    session: Session, world: World, many, monkeypatch: pytest.MonkeyPatch, signed_in
):
    monkeypatch.setattr(search, "PROBE_CAP", 1)
    monkeypatch.setattr(queries, "COUNT_CAP", 5)
    assert count_conversations(session, world.manager, ListQuery(q="hello")) == Count(5, True)
    few = ListQuery(view=View.SPAM, q="refund")  # three
    assert count_conversations(session, world.manager, few) == Count(3)
    assert len(reference(session, world.manager, few)) == 3
    monkeypatch.setattr(list_view, "PAGE_SIZE", 4)
    manager: Browser = signed_in("manager@example.com")
    html = manager.get("/list", htmx=True, params={"q": "hello", "page": "3"}).text
    assert "5+ conversations · page 3" in html and 'id="next-page"' in html  # pages are full
