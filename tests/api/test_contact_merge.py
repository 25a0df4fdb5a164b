"""``POST /api/v1/contacts/{id}/merge``: the other contact moves into this one, within the
key's inboxes only."""

from __future__ import annotations

import httpx
from sqlalchemy.orm import Session

from inbox.models import AuditLog, Contact, Conversation
from inbox.services.api_keys import create_api_key
from tests.factories import Factory


async def test_a_key_merges_the_other_contact_into_this_one(
    api_client: httpx.AsyncClient, session: Session, factory: Factory
) -> None:
    keep = factory.contact(name="Kept", number="+12025550177")
    other = factory.contact(name="Other", number="+12025550188", email="o@example.com")
    conversation = factory.conversation(contact=other)
    keep_id, other_id = keep.id, other.id

    response = await api_client.post(
        f"/api/v1/contacts/{keep_id}/merge", json={"other_id": other_id}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == keep_id and body["name"] == "Kept" and body["email"] == "o@example.com"
    assert [n["number"] for n in body["numbers"]] == ["+12025550177", "+12025550188"]
    session.expire_all()
    assert session.get(Contact, other_id) is None
    assert session.get_one(Conversation, conversation.id).contact_id == keep_id
    audit = session.query(AuditLog).filter_by(action="contact.merge").one()
    assert audit.details["via"] == "api key tests" and audit.details["merged_id"] == other_id

    again = await api_client.post(f"/api/v1/contacts/{keep_id}/merge", json={"other_id": other_id})
    assert again.status_code == 404
    itself = await api_client.post(f"/api/v1/contacts/{keep_id}/merge", json={"other_id": keep_id})
    assert itself.status_code == 422 and itself.json()["detail"][0]["loc"] == ["body", "other_id"]


async def test_a_key_for_other_inboxes_cannot_merge_what_it_cannot_see(
    app, session: Session, factory: Factory
) -> None:
    mine, theirs = factory.conversation(), factory.conversation()
    _, key = create_api_key(session, name="mine", inboxes=[mine.inbox])
    session.commit()
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        for keep_id, other_id in ((mine.contact_id, theirs.contact_id),
                                  (theirs.contact_id, mine.contact_id)):  # fmt: skip
            response = await c.post(
                f"/api/v1/contacts/{keep_id}/merge", json={"other_id": other_id}
            )
            assert response.status_code == 404, response.text
    session.expire_all()
    assert session.get(Contact, theirs.contact_id) is not None
    assert session.get(Contact, mine.contact_id) is not None
