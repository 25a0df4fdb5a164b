"""Fixtures for settings tests: the app with its own data and rules folders, the web tests'
small world (admin, manager, two agents, two inboxes, a channel), and signed-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from inbox.settings import Settings
from tests.web.conftest import Browser, FakeTemporal, World, world  # noqa: F401  (fixture)
from tests.web.test_browser import chromium, contexts  # noqa: F401  (browser fixtures)

__all__ = ["World"]


@pytest.fixture
def app_settings(database_url: str, tmp_path: Path) -> Settings:
    rules = tmp_path / "rules"
    rules.mkdir()
    return Settings(database_url=database_url, data_dir=tmp_path / "data", rules_dir=rules)


@pytest.fixture
def settings_app(app_settings: Settings, engine: Any) -> FastAPI:
    return create_app(app_settings, temporal_client=FakeTemporal())  # type: ignore[arg-type]


@pytest.fixture
def login(settings_app: FastAPI, world: World) -> Iterator[Any]:  # noqa: F811
    """``login("admin@example.com")`` gives a signed-in Browser; ``login(None)`` an anonymous
    client."""
    clients: list[TestClient] = []

    def make(email: str | None) -> Browser:
        client = TestClient(settings_app)
        client.__enter__()
        clients.append(client)
        browser = Browser(client)
        return browser.sign_in(email) if email else browser

    yield make
    for client in clients:
        client.__exit__(None, None, None)
