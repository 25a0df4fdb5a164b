"""The authorization matrix: every settings route x admin / manager / agent / anonymous.

Admins get 200 or 303; managers and agents 403; someone signed out is sent to sign in (303 to
/login). Forbidden requests change nothing. A settings route missing from the table fails the
coverage test, so a new page cannot skip this check.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from inbox.models import (
    AuditLog,
    BlockedNumber,
    Role,
    User,
)
from inbox.services import canned_replies
from inbox.services.admin import api_keys, contacts_import, fields
from tests.factories import Factory
from tests.web.conftest import World
from web.settings import ADMIN_PAGES


@dataclass
class Ids:
    channel: int
    inbox: int
    agent: int
    inactive: int
    entry: int
    spam: int
    field: int
    job: int
    key: int
    canned: int


@dataclass
class Case:
    method: str
    path: str  # with {placeholders} filled from Ids
    admin_status: int
    data: dict[str, Any] | None = None
    file: bool = False


def _cases(world: World) -> list[Case]:
    inbox_form = {"name": "Renamed", "timezone": "UTC", "default_assignee_id": ""}
    return [
        Case("GET", "/settings", 303),
        Case("GET", "/settings/channels", 200),
        Case("POST", "/settings/channels", 303,
             {"name": "Second", "number": "+14155550177", "default_inbox_id": world.sales.id}),
        Case("POST", "/settings/channels/{channel}", 303,
             {"name": "Main", "number": "+14155550100", "default_inbox_id": world.support.id}),
        Case("POST", "/settings/channels/{channel}/delete", 303),
        Case("POST", "/settings/channels/{channel}/consent", 303, {"consent_replies": "provider"}),
        Case("GET", "/settings/inboxes", 200),
        Case("GET", "/settings/inboxes/{inbox}", 200),
        Case("POST", "/settings/inboxes", 303, {**inbox_form, "name": "Billing"}),
        Case("POST", "/settings/inboxes/{inbox}", 303, inbox_form),
        Case("POST", "/settings/inboxes/{inbox}/delete", 303),
        Case("GET", "/settings/users", 200),
        Case("POST", "/settings/users", 303,
             {"name": "New", "email": "new@example.com", "role": "agent",
              "password": "long enough pw"}),
        Case("POST", "/settings/users/{agent}", 303, {"name": "Alex A", "role": "agent"}),
        Case("POST", "/settings/users/{agent}/deactivate", 200),
        Case("POST", "/settings/users/{inactive}/reactivate", 303),
        Case("POST", "/settings/users/{agent}/link", 200),
        Case("POST", "/settings/users/{agent}/sign-out", 200),
        Case("GET", "/settings/blocklist", 200),
        Case("POST", "/settings/blocklist", 303, {"number": "+12025550188"}),
        Case("POST", "/settings/blocklist/{entry}/unblock", 303),
        Case("POST", "/settings/blocklist/conversations/{spam}/not-spam", 303),
        Case("GET", "/settings/fields", 200),
        Case("POST", "/settings/fields", 303,
             {"entity": "contact", "key": "plan", "label": "Plan", "type": "text"}),
        Case("POST", "/settings/fields/{field}", 303, {"label": "Tier", "choices": "A, B"}),
        Case("POST", "/settings/fields/{field}/delete", 303),
        Case("GET", "/settings/merge-fields", 200),
        Case("POST", "/settings/merge-fields/preview", 200,
             {"template": "Hi {{ contact.first_name }}", "contact_id": 0}),
        Case("GET", "/settings/canned-replies", 200),
        Case("POST", "/settings/canned-replies", 303,
             {"inbox_id": world.sales.id, "title": "Hours", "body": "We open at 9."}),
        Case("POST", "/settings/canned-replies/{canned}", 303,
             {"title": "Shipping", "body": "Two days."}),
        Case("POST", "/settings/canned-replies/{canned}/delete", 303),
        Case("GET", "/settings/import", 200),
        Case("POST", "/settings/import", 303, file=True),
        Case("GET", "/settings/import/{job}", 200),
        Case("POST", "/settings/import/{job}/start", 303, {"map_0": "name", "map_1": "number"}),
        Case("GET", "/settings/import/{job}/progress", 200),
        Case("GET", "/settings/import/{job}/errors.csv", 200),
        Case("GET", "/settings/export", 200),
        Case("GET", "/settings/export/contacts.csv", 200),
        Case("GET", "/settings/export/conversations.csv", 200),
        Case("GET", "/settings/api-keys", 200),
        Case("POST", "/settings/api-keys", 200, {"name": "CRM"}),
        Case("POST", "/settings/api-keys/{key}/revoke", 303),
        Case("GET", "/settings/automation", 200),
        Case("GET", "/settings/audit", 200),
        Case("GET", "/settings/compliance", 200),
        Case("POST", "/settings/compliance", 303,
             {"opt_out_words": "STOP\nQUIT", "opt_in_words": "START", "help_words": "HELP",
              "quiet_start": "21:00", "quiet_end": "08:00", "automated_per_day": 3}),
        Case("POST", "/settings/compliance/numbers", 303,
             {"number": "+12025550133", "action": "opt_out", "note": "Asked on a call"}),
        Case("GET", "/settings/compliance/records.csv", 200),
    ]  # fmt: skip


def _template(path: str) -> str:
    """``/settings/channels/{channel}`` → ``/settings/channels/{channel_id}`` shape-agnostic key."""
    return "/".join("{}" if part.startswith("{") else part for part in path.split("/"))


@pytest.fixture
def ids(factory: Factory, session: Session, world: World, app_settings: Any) -> Ids:
    inactive = factory.user(email="gone@example.com", name="Gone", is_active=False)
    spammer = factory.contact(number="+12025550166")
    spam = factory.conversation(channel=factory.channel(), contact=spammer)
    from inbox.services.admin import blocklist

    blocklist.mark_spam(session, conversation=spam)  # blocks number and contact
    entry = session.scalars(select(BlockedNumber).where(BlockedNumber.number.is_not(None))).one()
    definition = fields.create_field(
        session, entity="contact", key="tier", label="Tier", type="choice", choices=["A"]
    )
    job = contacts_import.receive_upload(
        session,
        stream=io.BytesIO(b"name,phone\nAna,+12025550155\n"),
        filename="a.csv",
        directory=app_settings.data_dir / "imports",
    )
    key, _ = api_keys.create(session, name="Old key")
    canned = canned_replies.create(session, scope="shared", title="Shipping", body="Soon.")
    session.commit()
    session.execute(delete(AuditLog))  # start the "nothing changed" count at 0
    session.commit()
    return Ids(
        channel=world.channel.id,
        inbox=world.support.id,
        agent=world.other_agent.id,
        inactive=inactive.id,
        entry=entry.id,
        spam=spam.id,
        field=definition.id,
        job=job.id,
        key=key.id,
        canned=canned.id,
    )


def test_every_settings_route_is_in_the_matrix(world):
    covered = {(c.method, _template(c.path)) for c in _cases(world)}
    routes = {
        (method, _template(route.path))
        for module in ADMIN_PAGES
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
        if method != "HEAD"
    }
    assert all(path.startswith("/settings") for _, path in routes)
    assert routes - covered == set(), "settings routes missing from the authorization matrix"
    assert covered - routes == set(), "matrix lists routes that do not exist"


def _send(browser, case: Case, ids: Ids) -> Any:
    path = case.path.format(**vars(ids))
    if case.method == "GET":
        return browser.client.get(path, follow_redirects=False)
    headers = {"X-CSRF-Token": browser.token} if browser.token else {}
    files = {"file": ("c.csv", b"name,phone\nBo,+12025550144\n", "text/csv")} if case.file else None
    return browser.client.post(
        path, data=case.data or {}, files=files, headers=headers, follow_redirects=False
    )


def _audit_count(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(AuditLog)) or 0)


@pytest.mark.parametrize("index", range(50))
def test_route_by_role(index, world, ids, login, session):
    cases = _cases(world)
    assert len(cases) == 50
    case = cases[index]
    # Everyone who is not an admin first: none of them may change anything.
    anonymous = _send(login(None), case, ids)
    assert anonymous.status_code == 303, anonymous.text
    assert anonymous.headers["location"].startswith("/login?next=")
    for email in ("manager@example.com", "agent@example.com"):
        response = _send(login(email), case, ids)
        assert response.status_code == 403, (email, response.text)
    assert _audit_count(session) == 0
    assert (
        session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN)) == 1
    )
    admin = _send(login("admin@example.com"), case, ids)
    assert admin.status_code == case.admin_status, admin.text[:2000]


def test_htmx_request_signed_out_gets_a_full_page_redirect(login):
    response = login(None).client.get("/settings/channels", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/login?next=%2Fsettings%2Fchannels"


def test_admin_post_without_csrf_token_is_refused_and_changes_nothing(login, session, world):
    admin = login("admin@example.com")
    response = admin.client.post(
        "/settings/blocklist", data={"number": "+12025550199"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert session.scalar(select(func.count()).select_from(BlockedNumber)) == 0


def test_settings_link_only_for_admins(login):
    assert 'id="nav-settings"' in login("admin@example.com").get("/inbox").text
    assert 'id="nav-settings"' not in login("agent@example.com").get("/inbox").text
    assert 'id="nav-settings"' not in login("manager@example.com").get("/inbox").text
