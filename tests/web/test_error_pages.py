"""A refused or missing page in the web inbox is a page for people; the API and htmx keep
their JSON."""

from __future__ import annotations

from tests.web.conftest import Browser, text_in

PAGE = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}  # what a browser sends


def test_a_missing_page_is_an_html_page_with_a_way_back(client, world) -> None:
    Browser(client).sign_in("agent@example.com")
    missing = client.get("/contacts/987654", headers=PAGE)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "Not found" in missing.text and "Contact not found" in missing.text
    assert 'href="/inbox"' in missing.text
    nowhere = client.get("/no-such-page", headers=PAGE)
    assert nowhere.status_code == 404 and "There is no page at this address." in nowhere.text


def test_a_refused_page_says_why(client, world, sessions) -> None:
    convo = text_in(sessions, world, body="hello")
    Browser(client).sign_in("other@example.com")  # not a member of the conversation's inbox
    hidden = client.get(f"/inbox/{convo.id}", headers=PAGE)
    assert hidden.status_code == 404 and "Conversation not found" in hidden.text
    settings = client.get("/settings/users", headers=PAGE)  # an agent, not an admin
    assert settings.status_code == 403
    assert settings.headers["content-type"].startswith("text/html")
    assert "Not allowed" in settings.text and 'href="/inbox"' in settings.text


def test_htmx_and_the_api_keep_json(client, world) -> None:
    Browser(client).sign_in("agent@example.com")
    htmx = client.get("/contacts/987654", headers={**PAGE, "HX-Request": "true"})
    assert htmx.status_code == 404 and htmx.json() == {"detail": "Contact not found"}
    api = client.get("/api/v1/conversations/987654", headers=PAGE)
    assert api.status_code == 401 and "detail" in api.json()
    assert client.get("/no-such-page").json() == {"detail": "Not Found"}  # not a browser
