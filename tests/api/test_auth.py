"""Bearer API keys on every /api/v1 route, and the OpenAPI document that describes them."""

from __future__ import annotations

import httpx
import pytest

from inbox.models import ApiKey
from inbox.services.api_keys import create_api_key, revoke

API_ROUTES = [
    ("GET", "/api/v1/conversations"),
    ("GET", "/api/v1/conversations/1"),
    ("POST", "/api/v1/conversations"),
    ("POST", "/api/v1/conversations/1/messages"),
    ("POST", "/api/v1/conversations/1/close"),
    ("POST", "/api/v1/conversations/1/reopen"),
    ("POST", "/api/v1/conversations/1/assign"),
    ("POST", "/api/v1/conversations/1/move"),
    ("POST", "/api/v1/conversations/1/spam"),
    ("POST", "/api/v1/contacts"),
    ("GET", "/api/v1/contacts/1"),
    ("POST", "/api/v1/contacts/1/events"),
    ("POST", "/api/v1/messages"),
    ("GET", "/api/v1/consent/records"),
    ("GET", "/api/v1/notifications"),
    ("POST", "/api/v1/notifications/1/read"),
    ("POST", "/api/v1/notifications/read-all"),
    ("POST", "/api/v1/conversations/1/tags"),
    ("DELETE", "/api/v1/conversations/1/tags/{tag}"),
    ("POST", "/api/v1/contacts/1/merge"),
    ("GET", "/api/v1/rules/stats"),
    ("POST", "/api/v1/conversations/1/snooze"),
    ("POST", "/api/v1/conversations/1/unsnooze"),
    ("GET", "/api/v1/reports"),
]
# The path parameter each resource's "/1" stands for.
ID_PARAMS = {
    "conversations": "{conversation_id}",
    "contacts": "{contact_id}",
    "notifications": "{notification_id}",
}


def _assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"]


@pytest.mark.parametrize(("method", "path"), API_ROUTES)
async def test_every_route_refuses_a_missing_key(anonymous_client, method, path):
    # 401 comes before body validation: an anonymous caller learns nothing about the input.
    _assert_401(await anonymous_client.request(method, path, json={}))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer inbx_deadbeef_not-the-secret",
        "Bearer not-a-key-at-all",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "inbx_deadbeef_secret",
    ],
)
async def test_bad_credentials_get_401(anonymous_client, header):
    response = await anonymous_client.get(
        "/api/v1/conversations", headers={"Authorization": header}
    )
    _assert_401(response)


async def test_wrong_secret_for_a_real_prefix_gets_401(anonymous_client, api_key):
    forged = api_key[: len("inbx_12345678_")] + "x" * 43
    response = await anonymous_client.get(
        "/api/v1/conversations", headers={"Authorization": f"Bearer {forged}"}
    )
    _assert_401(response)


async def test_revoked_key_gets_401(anonymous_client, sessions):
    with sessions() as session:
        row, plain = create_api_key(session, name="soon revoked")
        session.commit()
    headers = {"Authorization": f"Bearer {plain}"}
    assert (await anonymous_client.get("/api/v1/conversations", headers=headers)).status_code == 200
    with sessions() as session:
        revoke(session, api_key=session.get(ApiKey, row.id))
        session.commit()
    _assert_401(await anonymous_client.get("/api/v1/conversations", headers=headers))


async def test_valid_key_is_accepted_and_its_use_recorded(api_client, sessions, api_key):
    response = await api_client.get("/api/v1/conversations")
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}
    with sessions() as session:
        row = session.query(ApiKey).one()
        assert row.last_used_at is not None


async def test_healthz_and_openapi_need_no_key(anonymous_client):
    assert (await anonymous_client.get("/healthz")).status_code == 200
    assert (await anonymous_client.get("/openapi.json")).status_code == 200


async def test_openapi_documents_bearer_security_and_response_models(anonymous_client):
    spec = (await anonymous_client.get("/openapi.json")).json()
    scheme = spec["components"]["securitySchemes"]["HTTPBearer"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    operations = [
        (path, method, op)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in item.items()
    ]
    documented = {(method.upper(), path) for path, method, _ in operations}
    expected = {
        (method, path.replace("/1", "/" + ID_PARAMS.get(path.split("/")[3], ""), 1))
        for method, path in API_ROUTES
    }
    assert documented == expected
    for path, method, op in operations:
        assert op["security"] == [{"HTTPBearer": []}], (method, path)
        assert "401" in op["responses"], (method, path)
        success = next(code for code in op["responses"] if code.startswith("2"))
        schema = op["responses"][success]["content"]["application/json"]["schema"]
        assert "$ref" in schema, (method, path)  # a named response model, not a bare object
        assert op.get("tags"), (method, path)
    for name in ("ConversationPage", "ConversationDetail", "MessageOut", "ContactDetail"):
        assert name in spec["components"]["schemas"]
