import pytest
from tests.web.conftest import text_in

def test_smoke(signed_in, world, sessions):
    conv = text_in(sessions, world, body="Hello <script>alert(1)</script>")
    b = signed_in("agent@example.com")
    r = b.get("/inbox"); assert r.status_code == 200, r.text
    r = b.get(f"/inbox/{conv.id}"); assert r.status_code == 200, r.text
    print(r.text[-3000:])
    for url in ["/list", "/cards", "/cards?group=inbox", "/cards?group=assignee", f"/contacts/{conv.contact_id}", "/new", f"/contacts/{conv.contact_id}/edit", "/inbox/list?q=hello"]:
        r = b.get(url); assert r.status_code == 200, (url, r.text)
    r = b.post(f"/conversations/{conv.id}/reply", {"body": "Hi {{ contact.first_name }}"}); assert r.status_code == 200, r.text
    for a in ["close", "reopen", "spam"]:
        r = b.post(f"/conversations/{conv.id}/{a}"); assert r.status_code == 200, (a, r.text)
