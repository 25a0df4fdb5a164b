"""Fixtures for web inbox tests: the app on the test database with a fake Temporal client, a
small world (two inboxes, a channel, an admin, a manager, an agent), and signed-in clients."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from inbox.models import Channel, Conversation, Inbox, Role, User
from inbox.passwords import hash_password
from inbox.services.inbound import receive_inbound
from inbox.settings import Settings
from tests.factories import Factory

PASSWORD = "correct horse battery"
_ids = itertools.count(1)


@dataclass
class FakeTemporal:
    """Stands in for the Temporal client: records the relay's signal-with-start calls."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    async def start_workflow(self, workflow: str, arg: Any, **kwargs: Any) -> None:
        self.calls.append({"workflow": workflow, "arg": arg, **kwargs})


@dataclass
class World:
    sales: Inbox
    support: Inbox
    channel: Channel
    admin: User
    manager: User
    agent: User
    other_agent: User


@pytest.fixture
def temporal() -> FakeTemporal:
    return FakeTemporal()


@pytest.fixture
def web_app(database_url: str, engine: Any, temporal: FakeTemporal) -> FastAPI:
    return create_app(Settings(database_url=database_url), temporal_client=temporal)  # type: ignore[arg-type]


@pytest.fixture
def world(factory: Factory, session: Session) -> World:
    pw = hash_password(PASSWORD)
    admin = factory.user(
        email="admin@example.com", name="Ada Admin", role=Role.ADMIN, password_hash=pw
    )
    manager = factory.user(
        email="manager@example.com", name="Max Manager", role=Role.MANAGER, password_hash=pw
    )
    agent = factory.user(
        email="agent@example.com", name="Alex Agent", role=Role.AGENT, password_hash=pw
    )
    other = factory.user(
        email="other@example.com", name="Olive Other", role=Role.AGENT, password_hash=pw
    )
    sales = factory.inbox(name="Sales", default_assignee_id=agent.id)
    support = factory.inbox(name="Support")
    sales.members.append(agent)
    support.members.append(other)
    session.commit()
    channel = factory.channel(name="Main line", number="+14155550100", default_inbox=sales)
    return World(sales, support, channel, admin, manager, agent, other)


def text_in(
    sessions: sessionmaker[Session], world: World, *, body: str, number: str = "+12025550111"
) -> Conversation:
    """A contact texts the main line (the real inbound path), committed."""
    with sessions() as session:
        result = receive_inbound(
            session,
            provider="simulator",
            provider_message_id=f"SMtest{next(_ids)}",
            from_number=number,
            to_number=world.channel.number or "",
            body=body,
            media=[],
        )
        session.commit()
        return result.conversation


def csrf_of(html: str) -> str:
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "page has no CSRF token"
    return match.group(1)


class Browser:
    """A TestClient signed in through the form, that sends its CSRF token like htmx does."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.token = ""

    def sign_in(self, email: str, password: str = PASSWORD) -> Browser:
        page = self.client.get("/login")
        response = self.client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        self.token = csrf_of(self.client.get("/inbox").text)
        return self

    def get(self, url: str, htmx: bool = False, **kw: Any) -> Any:
        headers = {"HX-Request": "true"} if htmx else {}
        return self.client.get(url, headers=headers, **kw)

    def post(
        self, url: str, data: Any = None, htmx: bool = True, csrf: bool = True, **kw: Any
    ) -> Any:
        headers = {"HX-Request": "true"} if htmx else {}
        if csrf:
            headers["X-CSRF-Token"] = self.token
        return self.client.post(url, data=data, headers=headers, follow_redirects=False, **kw)


@pytest.fixture
def client(web_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(web_app) as client:
        yield client


@pytest.fixture
def signed_in(web_app: FastAPI, world: World) -> Iterator[Any]:
    """``signed_in("agent@example.com")`` gives a fresh signed-in Browser."""
    clients: list[TestClient] = []

    def make(email: str) -> Browser:
        client = TestClient(web_app)
        client.__enter__()
        clients.append(client)
        return Browser(client).sign_in(email)

    yield make
    for client in clients:
        client.__exit__(None, None, None)
