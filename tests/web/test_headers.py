"""Security headers on every response, templates that need no inline script or style, and the
API docs behind sign-in or an API key in production."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.security_headers import CONTENT_SECURITY_POLICY
from inbox.services.api_keys import create_api_key
from inbox.settings import Settings
from tests.web.conftest import Browser, FakeTemporal

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted([*ROOT.glob("web/templates/**/*.html"), *ROOT.glob("api/templates/*.html")])


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/login", "GET"),
        ("/inbox", "GET"),  # a redirect
        ("/healthz", "GET"),
        ("/static/app.js", "GET"),
        ("/api/v1/conversations", "GET"),  # 401
        ("/webhooks/twilio/sms", "POST"),  # 415
        ("/no/such/page", "GET"),  # 404
    ],
)
def test_every_response_carries_the_security_headers(client, path, method):
    response = client.request(method, path, follow_redirects=False)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY  # no 'unsafe-inline', no hosts
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # not in development


def test_a_signed_in_page_and_an_htmx_fragment_carry_them_too(signed_in):
    agent = signed_in("agent@example.com")
    for response in (agent.get("/inbox"), agent.get("/inbox/list", htmx=True)):
        assert response.status_code == 200
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_script_style_or_handler(template):
    html = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"<style\b", html), "inline <style>"
    assert not re.search(r"\sstyle=", html), "style= attribute"
    assert not re.search(r"\son[a-z]+=", html), "on...= handler"
    assert not re.search(r"\shx-on[:-]", html), "hx-on handler (needs eval)"


def test_htmx_is_told_not_to_inject_styles_or_eval():
    layout = (ROOT / "web/templates/base.html").read_text()
    assert '"includeIndicatorStyles": false' in layout and '"allowEval": false' in layout


def _production(database_url: str) -> TestClient:
    settings = Settings(
        database_url=database_url,
        environment="production",
        secret_key="a real secret for the tests, not the placeholder",
        sms_provider="twilio",
        twilio_auth_token="a real token",
        public_url="https://inbox.example.com",
    )
    return TestClient(create_app(settings, temporal_client=FakeTemporal()))  # type: ignore[arg-type]


def test_production_adds_hsts_and_puts_the_api_docs_behind_sign_in(
    database_url, engine, sessions, world
):
    with sessions() as session:
        _, key = create_api_key(session, name="docs reader", access="read")
        session.commit()
    with _production(database_url) as client:
        schema = client.get("/openapi.json")
        assert schema.status_code == 401 and schema.headers["WWW-Authenticate"] == "Bearer"
        assert "Strict-Transport-Security" in schema.headers
        for page in ("/docs", "/redoc"):
            refused = client.get(page, follow_redirects=False)
            assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
        with_key = client.get("/openapi.json", headers={"Authorization": f"Bearer {key}"})
        assert with_key.status_code == 200 and "/api/v1/conversations" in with_key.json()["paths"]
        wrong = client.get("/openapi.json", headers={"Authorization": "Bearer inbx_nope_nope"})
        assert wrong.status_code == 401
        # A signed-in user reads them in the browser (the cookie is Secure: https base URL).
        client.base_url = "https://inbox.example.com"  # type: ignore[assignment]
        Browser(client).sign_in("agent@example.com")
        assert client.get("/openapi.json").status_code == 200
        docs = client.get("/docs")
        assert docs.status_code == 200
        policy = docs.headers["Content-Security-Policy"]
        assert "'sha256-" in policy and "'unsafe-inline'" not in policy.split("style-src")[0]


def test_development_leaves_the_docs_open(client):
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
