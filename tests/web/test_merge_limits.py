"""The composer renders an agent's merge fields within the sandbox's limits: a template that
would build a huge value is a 422 with the reason, and the web process builds nothing."""

from __future__ import annotations

from sqlalchemy import select

from inbox.models import Message
from tests.web.conftest import text_in


def test_the_composer_answers_a_huge_template_with_a_422(signed_in, sessions, world):
    convo = text_in(sessions, world, body="hello")
    agent = signed_in("agent@example.com")
    response = agent.post(f"/conversations/{convo.id}/reply", {"body": "{{ 'a' * 200000000 }}"})
    assert response.status_code == 422 and "limit" in response.json()["detail"]
    assert (
        agent.post(f"/conversations/{convo.id}/reply", {"body": "{{ 1 / 0 }}"}).status_code == 422
    )


def test_nothing_is_queued_for_a_refused_template(signed_in, sessions, world, session):
    convo = text_in(sessions, world, body="hello")
    agent = signed_in("agent@example.com")
    agent.post(f"/conversations/{convo.id}/reply", {"body": "{{ 'a' | center(10**9) }}"})
    assert session.scalars(select(Message).where(Message.direction == "outbound")).all() == []
