"""Server-side sessions: signing out, "sign out everywhere", deactivation and the lifetimes end
a session at once, and a copied cookie is worth nothing afterwards."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from inbox.models import WebSession, utcnow
from inbox.services.admin import users
from tests.web.conftest import Browser


def _copy(browser: Browser, web_app) -> TestClient:
    """A second client holding the same cookie (a stolen or copied session)."""
    thief = TestClient(web_app)
    thief.cookies.update(browser.client.cookies)
    return thief


def _signed_in(client: TestClient) -> bool:
    response = client.get("/inbox", follow_redirects=False)
    return response.status_code == 200


def test_logout_revokes_the_session_on_the_server(signed_in, web_app):
    agent = signed_in("agent@example.com")
    thief = _copy(agent, web_app)
    assert _signed_in(thief)
    assert agent.post("/logout", htmx=False).status_code == 303
    assert not _signed_in(thief)  # the old cookie no longer signs anyone in
    assert thief.get("/inbox", follow_redirects=False).headers["location"].startswith("/login")


def test_sign_out_everywhere_ends_every_session_of_the_user(signed_in, web_app, session, world):
    laptop = signed_in("agent@example.com")
    phone = signed_in("agent@example.com")
    other = signed_in("other@example.com")
    page = laptop.get("/account")
    table = page.text[page.text.index('id="sessions"') : page.text.index("</table>")]
    assert page.status_code == 200 and table.count("<tr") == 3  # header + two sessions
    assert table.count("this browser") == 1
    assert laptop.post("/account/sign-out-everywhere", htmx=False).status_code == 303
    assert not _signed_in(laptop.client) and not _signed_in(phone.client)
    assert _signed_in(other.client)


def test_an_admin_signs_a_user_out_everywhere(signed_in, world):
    agent = signed_in("agent@example.com")
    admin = signed_in("admin@example.com")
    response = admin.post(f"/settings/users/{world.agent.id}/sign-out", htmx=False)
    assert response.status_code == 200 and "signed out everywhere" in response.text
    assert not _signed_in(agent.client)


def test_deactivation_signs_the_user_out_at_once(signed_in, session, world):
    agent = signed_in("agent@example.com")
    users.deactivate(session, user=session.get(type(world.agent), world.agent.id))
    session.commit()
    assert (
        session.scalars(select(WebSession).where(WebSession.user_id == world.agent.id)).all() == []
    )
    assert not _signed_in(agent.client)


def test_an_idle_session_ends_and_so_does_an_old_one(signed_in, session, world, web_app):
    settings = web_app.state.inbox.settings
    idle = signed_in("agent@example.com")
    old = signed_in("other@example.com")
    now = utcnow()
    session.execute(
        update(WebSession)
        .where(WebSession.user_id == world.agent.id)
        .values(last_seen_at=now - timedelta(minutes=settings.session_idle_minutes, seconds=1))
    )
    session.execute(
        update(WebSession)
        .where(WebSession.user_id == world.other_agent.id)
        .values(created_at=now - timedelta(hours=settings.session_max_hours, seconds=1))
    )
    session.commit()
    assert not _signed_in(idle.client)
    assert not _signed_in(old.client)


def test_use_keeps_a_session_alive(signed_in, session, world, web_app):
    settings = web_app.state.inbox.settings
    agent = signed_in("agent@example.com")
    almost = utcnow() - timedelta(minutes=settings.session_idle_minutes - 1)
    session.execute(update(WebSession).values(last_seen_at=almost))
    session.commit()
    assert _signed_in(agent.client)  # used just in time: touched
    session.expire_all()
    seen = session.scalars(select(WebSession.last_seen_at)).one()
    assert seen > almost + timedelta(minutes=1)


def test_the_cookie_holds_no_user_id_and_the_table_no_token(signed_in, session):
    agent = signed_in("agent@example.com")
    cookie = agent.client.cookies["inbox_session"]
    row = session.scalars(select(WebSession)).one()
    assert row.token_hash not in cookie  # only a hash of the cookie's token is stored
