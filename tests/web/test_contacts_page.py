"""The contacts page (search, sort, paging, visibility, one query a page) and merging two
contacts from a contact's page (managers and admins only)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from inbox.models import AuditLog, Contact, ContactNumber, Conversation, utcnow
from inbox.services import visibility
from tests.factories import Factory
from tests.web.conftest import World
from web.contact_list import PAGE_SIZE, ContactSort, list_contacts


@contextmanager
def counted() -> Iterator[list[str]]:
    """The SQL statements run inside the block, by any engine."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-id="(\d+)"', html)]


def _many(session: Session, count: int, *, prefix: str = "Person", first: int = 0) -> list[int]:
    """``count`` contacts with a number each, created a second apart (oldest first)."""
    start = utcnow() - timedelta(days=1)
    contacts = [
        Contact(
            name=f"{prefix} {n:03d}",
            created_at=start + timedelta(seconds=n),
            numbers=[ContactNumber(number=f"+1303555{first + n:04d}")],
        )
        for n in range(count)
    ]
    session.add_all(contacts)
    session.commit()
    return [c.id for c in contacts]


def test_search_by_name_number_digits_and_email(signed_in, factory: Factory, world: World) -> None:
    ann = factory.contact(name="Ann Example", number="+12025550133", email="ann@acme.test")
    bob = factory.contact(name="Bob Builder", number="+12025550144", email="bob@other.test")
    browser = signed_in("agent@example.com")
    for query, expected in (
        ("ann ex", [ann.id]),
        ("(202) 555-0144", [bob.id]),
        ("5550133", [ann.id]),
        ("ACME.test", [ann.id]),
        ("nobody", []),
    ):
        page = browser.get("/contacts", params={"q": query})
        assert page.status_code == 200
        assert _ids(page.text) == expected, query
    page = browser.get("/contacts")
    assert f'href="/contacts/{ann.id}"' in page.text and 'id="nav-contacts"' in page.text
    # The search box asks for the results only.
    fragment = browser.get("/contacts", htmx=True, params={"q": "bob"})
    assert _ids(fragment.text) == [bob.id] and "<html" not in fragment.text


def test_pages_of_fifty_in_a_stable_order_for_every_sort(
    signed_in, session: Session, world: World
) -> None:
    ids = _many(session, 2 * PAGE_SIZE + 7)
    browser = signed_in("manager@example.com")
    for sort, expected in (
        ("name", ids),
        ("newest", ids[::-1]),
        ("last_message", ids[::-1]),  # none has a message: newest id first
    ):
        seen: list[int] = []
        for page in (1, 2, 3):
            html = browser.get("/contacts", params={"sort": sort, "page": page}).text
            got = _ids(html)
            assert len(got) == (PAGE_SIZE if page < 3 else 7), (sort, page)
            assert ('id="next-page"' in html) == (page < 3)
            seen += got
        assert seen == expected, sort


def test_sort_by_name_puts_named_first_and_by_last_message(
    session: Session, factory: Factory, world: World
) -> None:
    unnamed = factory.contact(name="")
    zed = factory.contact(name="zed")
    abe = factory.contact(name="Abe")
    old = factory.conversation(channel=world.channel, contact=zed)
    new = factory.conversation(channel=world.channel, contact=unnamed)
    old.last_message_at = utcnow() - timedelta(hours=3)
    new.last_message_at = utcnow() - timedelta(minutes=1)
    session.commit()

    def order(sort: ContactSort) -> list[int]:
        found = list_contacts(session, visibility.EVERYTHING, query="", sort=sort, page=1)
        return [row.contact.id for row in found.rows]

    assert order(ContactSort.NAME) == [abe.id, zed.id, unnamed.id]
    assert order(ContactSort.LAST_MESSAGE) == [unnamed.id, zed.id, abe.id]
    assert order(ContactSort.NEWEST) == [abe.id, zed.id, unnamed.id]


def test_an_agent_lists_only_the_contacts_they_may_see(
    signed_in, factory: Factory, world: World
) -> None:
    mine = factory.conversation(channel=world.channel).contact  # Sales: the agent's inbox
    support_line = factory.channel(default_inbox=world.support)
    theirs = factory.conversation(channel=support_line).contact
    nobodys = factory.contact()  # no conversation: the shared address book
    agent = _ids(signed_in("agent@example.com").get("/contacts").text)
    assert mine.id in agent and nobodys.id in agent and theirs.id not in agent
    manager = _ids(signed_in("manager@example.com").get("/contacts").text)
    assert {mine.id, theirs.id, nobodys.id} <= set(manager)


def test_one_query_a_page_whatever_it_holds(
    signed_in, session: Session, factory: Factory, world: World
) -> None:
    with counted() as statements:
        list_contacts(session, visibility.EVERYTHING, query="", sort=ContactSort.NAME, page=1)
    assert len(statements) == 1

    browser = signed_in("agent@example.com")
    _many(session, 3)
    with counted() as few:
        assert len(_ids(browser.get("/contacts", params={"sort": "last_message"}).text)) == 3
    _many(session, PAGE_SIZE, prefix="More", first=100)
    for n in range(5):  # contacts with conversations and several numbers each
        contact = factory.contact()
        contact.numbers.append(ContactNumber(number=f"+1720555{n:04d}"))
        factory.conversation(channel=world.channel, contact=contact)
    with counted() as full:
        html = browser.get("/contacts", params={"sort": "last_message"}).text
    assert len(_ids(html)) == PAGE_SIZE
    assert all(f"+1720555{n:04d}" in html for n in range(5))  # every number of every row
    assert len(full) == len(few), "queries grow with the rows of a page"
    # The session and its user, the scope, the live position, the bell: five with the page.
    assert len(full) <= 5, full


def test_a_manager_merges_a_contact_picked_from_the_search(
    signed_in, session: Session, factory: Factory, world: World
) -> None:
    keep = factory.contact(name="Kim Kept", number="+12025550155")
    other = factory.contact(name="", number="+12025550166", email="kim@example.com")
    conversation = factory.conversation(channel=world.channel, contact=other)
    other_id = other.id
    browser = signed_in("manager@example.com")
    assert 'id="merge-contact"' in browser.get(f"/contacts/{keep.id}").text
    picker = browser.get(f"/contacts/{keep.id}/merge", htmx=True, params={"q": "5550166"})
    assert f'data-id="{other.id}"' in picker.text and f'data-id="{keep.id}"' not in picker.text
    confirm = browser.get(f"/contacts/{keep.id}/merge", params={"other_id": other.id})
    assert 'id="merge-confirm"' in confirm.text and "+12025550166" in confirm.text

    done = browser.post(f"/contacts/{keep.id}/merge", {"other_id": other.id}, htmx=False)
    assert done.status_code == 303 and done.headers["location"] == f"/contacts/{keep.id}"
    session.expire_all()
    assert session.get(Contact, other_id) is None
    assert session.get_one(Conversation, conversation.id).contact_id == keep.id
    assert session.get_one(Contact, keep.id).email == "kim@example.com"
    assert session.scalar(select(AuditLog.actor_id).where(AuditLog.action == "contact.merge")) == (
        world.manager.id
    )
    page = browser.get(f"/contacts/{keep.id}").text
    assert "+12025550166" in page and "event-merged" in page


def test_merging_is_refused_to_agents_with_itself_and_without_a_pick(
    signed_in, session: Session, factory: Factory, world: World
) -> None:
    keep, other = factory.contact(), factory.contact()
    agent = signed_in("agent@example.com")
    assert 'id="merge-contact"' not in agent.get(f"/contacts/{keep.id}").text
    assert agent.get(f"/contacts/{keep.id}/merge").status_code == 403
    refused = agent.post(f"/contacts/{keep.id}/merge", {"other_id": other.id}, htmx=False)
    assert refused.status_code == 403
    admin = signed_in("admin@example.com")
    assert admin.post(f"/contacts/{keep.id}/merge", {"other_id": keep.id}).status_code == 422
    assert admin.post(f"/contacts/{keep.id}/merge", {"other_id": ""}).status_code == 422
    assert admin.post(f"/contacts/{keep.id}/merge", {"other_id": 10**9}).status_code == 404
    session.expire_all()
    assert session.get(Contact, other.id) is not None
    assert session.scalar(select(AuditLog.id).where(AuditLog.action == "contact.merge")) is None
