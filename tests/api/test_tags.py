"""``POST /api/v1/conversations/{id}/tags`` and ``DELETE .../tags/{tag}``."""

from __future__ import annotations

from sqlalchemy import select

from inbox.models import ContactEvent, EventKind


async def test_add_and_remove_a_tag(api_client, factory, fake_temporal, sessions):
    convo = factory.conversation()
    base = f"/api/v1/conversations/{convo.id}/tags"

    added = await api_client.post(base, json={"tag": "  Follow Up "})
    assert added.status_code == 200, added.text
    assert added.json()["tags"] == ["follow-up"]
    second = await api_client.post(base, json={"tag": "vip"})
    assert second.json()["tags"] == ["follow-up", "vip"]

    again = await api_client.post(base, json={"tag": "VIP"})
    assert again.status_code == 409
    assert again.json()["detail"] == f"conversation {convo.id} is already tagged 'vip'"
    bad = await api_client.post(base, json={"tag": "a,b"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "tag"]
    assert "commas" in bad.json()["detail"][0]["msg"]

    removed = await api_client.delete(f"{base}/follow-up")
    assert removed.status_code == 200
    assert removed.json()["tags"] == ["vip"]
    missing = await api_client.delete(f"{base}/follow-up")
    assert missing.status_code == 409
    assert (await api_client.delete("/api/v1/conversations/999999/tags/vip")).status_code == 404

    with sessions() as session:
        kinds = session.scalars(
            select(ContactEvent.kind)
            .where(ContactEvent.conversation_id == convo.id)
            .order_by(ContactEvent.id)
        ).all()
    assert kinds == [EventKind.TAGGED, EventKind.TAGGED, EventKind.UNTAGGED]
    # Tags are not workflow state: no signal goes to the conversation's workflow.
    assert fake_temporal.signals(f"conversation-{convo.id}") == []
