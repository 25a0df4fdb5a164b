"""``/api/v1/rules/stats``: the rule statistics of Settings → Automation as JSON; business-wide,
so a key scoped to some inboxes is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from inbox.models import RuleRun
from inbox.models.base import utcnow
from inbox.services.api_keys import create_api_key
from inbox.settings import Settings
from tests.api.conftest import FakeTemporal


@pytest.fixture
def rules_app(database_url: str, tmp_path: Path, sessions) -> FastAPI:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(
        "- name: welcome\n  trigger: message_received\n  then:\n    - add_note: hi\n"
    )
    settings = Settings(database_url=database_url, rules_dir=rules)
    return create_app(settings, temporal_client=FakeTemporal())  # type: ignore[arg-type]


@asynccontextmanager
async def _client(app: FastAPI, key: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        yield client


def _runs(sessions) -> None:
    now = utcnow()
    rows = [  # (rule, outcome, days ago, reason)
        ("welcome", "fired", 1, ""),
        ("welcome", "skipped", 2, "b"),
        ("welcome", "skipped", 3, "a"),
        ("welcome", "skipped", 10, "b"),
        ("gone", "fired", 20, ""),
        ("gone", "fired", 40, ""),
    ]
    with sessions() as session:
        for n, (rule, outcome, days, reason) in enumerate(rows):
            session.add(
                RuleRun(run_key=f"k{n}", rule=rule, version="v", conversation_id=None,
                        trigger="message_received", trigger_key=f"t{n}", outcome=outcome,
                        reason=reason, created_at=now - timedelta(days=days))
            )  # fmt: skip
        session.commit()


async def test_stats_per_rule_and_window(rules_app: FastAPI, sessions):
    _runs(sessions)
    with sessions() as session:
        _, key = create_api_key(session, name="all")
        session.commit()
    async with _client(rules_app, key) as client:
        response = await client.get("/api/v1/rules/stats")
    assert response.status_code == 200
    assert response.json() == {
        "items": [
            {"rule": "welcome", "in_force": True, "windows": [
                {"days": 7, "fired": 1, "skipped": 2, "failed": 0, "top_skip_reasons": [
                    {"reason": "a", "count": 1}, {"reason": "b", "count": 1}]},
                {"days": 30, "fired": 1, "skipped": 3, "failed": 0, "top_skip_reasons": [
                    {"reason": "b", "count": 2}, {"reason": "a", "count": 1}]},
            ]},
            {"rule": "gone", "in_force": False, "windows": [
                {"days": 7, "fired": 0, "skipped": 0, "failed": 0, "top_skip_reasons": []},
                {"days": 30, "fired": 1, "skipped": 0, "failed": 0, "top_skip_reasons": []},
            ]},
        ]
    }  # fmt: skip


async def test_a_key_for_some_inboxes_is_refused(rules_app: FastAPI, factory, sessions):
    inbox = factory.inbox()
    with sessions() as session:
        _, key = create_api_key(session, name="scoped", inboxes=[session.merge(inbox)])
        session.commit()
    async with _client(rules_app, key) as client:
        response = await client.get("/api/v1/rules/stats")
    assert response.status_code == 403
    assert "every inbox" in response.json()["detail"]
