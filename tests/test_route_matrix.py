"""The route matrix: every route of the app, read from its route table, against every kind of
caller: nobody, an admin, a manager, an agent of the inbox and an agent of another inbox (the
outsider); for the JSON API no key, a full key, a key for another inbox and a read-only key.

Each route must have a declared expectation here, so a new route fails this test until
someone decides who may use it. The expectations say what the issue asks: the outsider
reaches nothing of the inbox (404 for its conversation and contact, and none of its text in
any page, fragment, picker or search), settings are for admins, the API answers only within a
key's scopes, and an id past what the database holds is a 4xx for every route that takes one.
"""

from __future__ import annotations

import asyncio
import json
import re
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import _IncludedRouter
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.routing import Mount

from api.app import create_app
from inbox.media import store_image
from inbox.models import CannedScope, Conversation, EventKind, Message, User, utcnow
from inbox.services import canned_replies, visibility
from inbox.services import sessions as web_sessions
from inbox.services.admin.fields import create_field
from inbox.services.api_keys import create_api_key
from inbox.services.conversations import add_contact_event
from inbox.services.notifications import notify
from inbox.settings import Settings
from tests.web.conftest import FakeTemporal, World, text_in, world  # noqa: F401  (fixture)
from web.auth import CSRF_KEY, SESSION_COOKIE, TOKEN_KEY

# What the outsider must never see, and a member must.
NAME = "Sally Secret"
TEXT = "SECRET-TEXT about the order"
NOTE = "SECRET-NOTE for the team"
PERSONAL = "PERSONAL-REPLY of the agent"  # the agent's own canned reply: nobody else sees it
HUGE = "99999999999999999999"
PNG = b"\x89PNG\r\n\x1a\n" + b"matrix-picture" * 4
CSRF = "matrix-csrf-token"
WEB_ROLES = ("admin", "manager", "agent")  # may see the Sales inbox
ALLOWED = {200, 201, 202, 204, 303, 409, 422}  # served (or refused for the state, not the caller)


# --- expectations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Public:
    """Anyone, signed in or not, gets one of ``statuses``."""

    statuses: frozenset[int]
    data: dict[str, Any] | None = None
    json: dict[str, Any] | None = None


@dataclass(frozen=True)
class SignedIn:
    """Any signed-in user; nobody else (sent to sign in). ``hides`` (lists, pickers, search):
    the outsider's answer holds nothing of the Sales inbox, a member's holds the contact."""

    data: dict[str, Any] | None = None
    hides: bool = False
    statuses: frozenset[int] = frozenset(ALLOWED)
    outsider: frozenset[int] | None = None  # when the outsider's answer differs (refused)


@dataclass(frozen=True)
class OfSales:
    """A route for one conversation or contact of the Sales inbox: admins, managers and its
    agent are served; the outsider gets 404; nobody is sent to sign in."""

    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class ManagerOfSales:
    """A manager's action on one contact of the Sales inbox (merging): admins and managers
    are served; agents, the inbox's own too, get 403 and none of its text; nobody is sent to
    sign in but the anonymous caller."""

    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class MediaOfSales:
    """An image of a Sales conversation's message: admins, managers and its agent get the
    image; the outsider gets 404 and none of its bytes; the anonymous caller is sent to sign
    in."""


@dataclass(frozen=True)
class OwnNotification:
    """One notification of the manager's (about the Sales conversation): the manager is
    served; everyone else, admins too, gets 404 and none of its text; nobody is sent to
    sign in but the anonymous caller."""


@dataclass(frozen=True)
class OwnCannedReply:
    """One of the agent's personal canned replies: the agent is served; everyone else, admins
    too, gets 404 and none of its text; nobody is sent to sign in but the anonymous caller."""

    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class CannedReplies:
    """A list of canned replies (the composer's picker for the Sales conversation, or one's
    own on the account page): signed-in only; the agent's personal reply is in the agent's
    answer and in nobody else's. ``of_sales``: the outsider gets 404, members see the shared
    and Sales replies and never Support's."""

    of_sales: bool = False


@dataclass(frozen=True)
class Stream:
    """The live event stream: signed-in only, subscribed with the caller's visibility."""


@dataclass(frozen=True)
class AdminOnly:
    """Settings: admins only (managers and agents 403, nobody sent to sign in)."""

    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class Api:
    """JSON API: no key 401; a read-only key 403 on writes; a key for another inbox sees
    nothing of Sales (``hidden``: 404 or 422, or a list without it); a full key is served."""

    kind: str  # "item": a Sales conversation or contact; "list"; "create"
    json: dict[str, Any] | None = None
    other_key: frozenset[int] = frozenset({404})
    list_key: str = "id"  # a list's field that holds the Sales conversation's id


@dataclass(frozen=True)
class Reports:
    """The reports page and its CSV: signed-in only; admins and managers see the Sales
    inbox's figures, the agent theirs (the Sales conversation is assigned to them), the
    outsider none of them (nothing of theirs happened)."""


@dataclass(frozen=True)
class ReportsApi:
    """The reports API: no key 401, any key served (reads only); a key for another inbox
    gets no row of Sales, a full key gets it."""


@dataclass(frozen=True)
class Webhook:
    """Provider webhooks: unsigned requests are refused (403), whoever sends them."""


Expectation = (
    Public
    | SignedIn
    | OfSales
    | ManagerOfSales
    | MediaOfSales
    | OwnNotification
    | OwnCannedReply
    | CannedReplies
    | Stream
    | AdminOnly
    | Api
    | Reports
    | ReportsApi
    | Webhook
)

CONV = "{conversation_id}"
CONTACT = "{contact_id}"


def expectations(ids: dict[str, Any]) -> dict[tuple[str, str], Expectation]:
    """Every route of the app and what each caller may do with it."""
    new_conversation = {
        "channel_id": ids["channel"],
        "contact_id": ids["contact"],
        "number": ids["number"],
    }
    return {
        ("GET", "/healthz"): Public(frozenset({200})),
        # Readiness: the matrix's fake Temporal client has no workflow service, so 503 here;
        # tests/api/test_readyz.py checks the 200.
        ("GET", "/readyz"): Public(frozenset({200, 503})),
        # No personal data in it; INBOX_METRICS_TOKEN (unset here) puts it behind a bearer token.
        ("GET", "/metrics"): Public(frozenset({200})),
        ("GET", "/openapi.json"): Public(frozenset({200})),  # production: see test_headers
        ("GET", "/docs"): Public(frozenset({200})),
        ("GET", "/redoc"): Public(frozenset({200})),
        ("GET", "/login"): Public(frozenset({200})),
        ("POST", "/login"): Public(frozenset({401}), data={"email": "x@example.com",
                                                           "password": "wrong"}),
        ("GET", "/"): Public(frozenset({303})),
        ("GET", "/set-password/{token}"): Public(frozenset({410})),
        ("POST", "/set-password/{token}"): Public(frozenset({410}), data={"password": "x"}),
        # The simulator is the development provider's phone (production refuses it).
        ("GET", "/simulator"): Public(frozenset({200})),
        ("GET", "/simulator/api/messages"): Public(frozenset({200, 422})),
        ("POST", "/simulator/api/send"): Public(frozenset({422})),
        ("POST", "/simulator/api/send-image"): Public(frozenset({422})),
        # A file stored for an outbound MMS: the provider fetches it with no session, by its
        # random name (tests/web/test_media.py); a name that is not one is a 404.
        ("GET", "/media/files/{file_name}"): Public(frozenset({404})),
        ("POST", "/webhooks/twilio/sms"): Webhook(),
        ("POST", "/webhooks/twilio/status"): Webhook(),
        # Signed-in, nothing of one inbox in them.
        ("POST", "/logout"): SignedIn(),
        ("GET", "/account"): SignedIn(),
        ("POST", "/account/sign-out-everywhere"): SignedIn(),
        # Canned replies: each user's own, and the composer's picker (shared + inbox + own).
        ("GET", "/account/canned-replies"): CannedReplies(),
        ("POST", "/account/canned-replies"): SignedIn(data={"title": "Mine", "body": "Hi"}),
        ("POST", "/account/canned-replies/{reply_id}"): OwnCannedReply(
            {"title": "Own", "body": PERSONAL}),
        ("POST", "/account/canned-replies/{reply_id}/delete"): OwnCannedReply(),
        ("GET", f"/conversations/{CONV}/canned-replies"): CannedReplies(of_sales=True),
        ("GET", "/inbox"): SignedIn(hides=True),
        ("GET", "/inbox/list"): SignedIn(hides=True),
        ("GET", "/list"): SignedIn(hides=True),
        ("GET", "/cards"): SignedIn(hides=True),
        ("GET", "/new"): SignedIn(hides=True),
        ("GET", "/new/contacts"): SignedIn(hides=True),
        ("POST", "/new"): SignedIn(data=new_conversation, outsider=frozenset({422})),
        ("POST", "/list/columns"): SignedIn(data={"columns": "status"}),
        ("POST", "/list/bulk"): SignedIn(data={"action": "close", "ids": ids["conversation"]},
                                         outsider=frozenset({404})),
        ("POST", "/prefs/details"): SignedIn(data={"hidden": "1"}),
        ("GET", "/tags/suggest"): SignedIn(),
        ("POST", "/prefs/notifications"): SignedIn(data={"enabled": "0"}),
        ("POST", "/prefs/notification-toasts"): SignedIn(data={"enabled": "0"}),
        # The notification centre: each user's own notifications only.
        ("GET", "/notifications"): SignedIn(),
        ("GET", "/notifications/bell"): SignedIn(),
        ("POST", "/notifications/read-all"): SignedIn(),
        ("POST", "/notifications/{notification_id}/read"): OwnNotification(),
        ("GET", "/live"): Stream(),
        # Reports: managers and admins every inbox's figures, an agent their own.
        ("GET", "/reports"): Reports(),
        ("GET", "/reports/export.csv"): Reports(),
        # One conversation or contact of Sales.
        ("GET", f"/inbox/{CONV}"): OfSales(),
        ("GET", f"/inbox/{CONV}/live"): OfSales(),
        ("GET", f"/inbox/{CONV}/media/{{message_id}}/{{index}}"): MediaOfSales(),
        ("POST", f"/conversations/{CONV}/reply"): OfSales({"body": "On it"}),
        ("POST", f"/conversations/{CONV}/assign"): OfSales({"assignee_id": ""}),
        ("POST", f"/conversations/{CONV}/move"): OfSales({"inbox_id": ids["sales"]}),
        ("POST", f"/conversations/{CONV}/notes"): OfSales({"text": "a note"}),
        ("POST", f"/conversations/{CONV}/consent"): OfSales({"decision": "dismiss"}),
        ("POST", f"/conversations/{CONV}/tags"): OfSales({"tag": "vip"}),
        ("POST", f"/conversations/{CONV}/tags/remove"): OfSales({"tag": "vip"}),
        ("POST", f"/conversations/{CONV}/messages/{{message_id}}/cancel"): OfSales(),
        ("POST", f"/conversations/{CONV}/messages/{{message_id}}/reschedule"): OfSales(
            {"body": "later", "send_at": "2099-01-01T09:00"}
        ),
        ("POST", f"/conversations/{CONV}/snooze"): OfSales({"until": "reply"}),
        ("POST", f"/conversations/{CONV}/unsnooze"): OfSales(),
        ("POST", f"/conversations/{CONV}/{{action}}"): OfSales(),
        # The right panel's edits (the contact's through the conversation it is seen in).
        ("POST", f"/conversations/{CONV}/fields/{{entity}}/{{key}}"): OfSales({"value": "A-1"}),
        ("POST", f"/conversations/{CONV}/contact/numbers"): OfSales(
            {"number": "+12025550162", "label": "work"}),
        ("POST", f"/conversations/{CONV}/contact/numbers/{{number_id}}/delete"): OfSales(),
        ("GET", f"/contacts/{CONTACT}"): OfSales(),
        ("GET", f"/contacts/{CONTACT}/edit"): OfSales(),
        ("GET", f"/contacts/{CONTACT}/card"): OfSales(),
        ("POST", f"/contacts/{CONTACT}"): OfSales({"name": NAME}),
        ("GET", "/contacts"): SignedIn(hides=True),
        # Merging: no other contact picked, so the form comes back (422) and nothing merges.
        ("GET", f"/contacts/{CONTACT}/merge"): ManagerOfSales(),
        ("POST", f"/contacts/{CONTACT}/merge"): ManagerOfSales({"other_id": ""}),
        # The JSON API.
        ("GET", "/api/v1/conversations"): Api("list"),
        ("GET", f"/api/v1/conversations/{CONV}"): Api("item"),
        ("POST", "/api/v1/conversations"): Api("create", new_conversation, frozenset({422})),
        ("POST", f"/api/v1/conversations/{CONV}/messages"): Api("item", {"body": "hi"}),
        ("POST", f"/api/v1/conversations/{CONV}/close"): Api("item"),
        ("POST", f"/api/v1/conversations/{CONV}/reopen"): Api("item"),
        ("POST", f"/api/v1/conversations/{CONV}/assign"): Api("item", {"assignee_id": None}),
        ("POST", f"/api/v1/conversations/{CONV}/move"): Api("item", {"inbox_id": ids["sales"]},
                                                            frozenset({404, 422})),
        ("POST", f"/api/v1/conversations/{CONV}/spam"): Api("item"),
        ("POST", f"/api/v1/conversations/{CONV}/tags"): Api("item", {"tag": "vip"}),
        ("DELETE", f"/api/v1/conversations/{CONV}/tags/{{tag}}"): Api("item"),
        ("POST", f"/api/v1/conversations/{CONV}/snooze"): Api("item", {"until": "reply"}),
        ("POST", f"/api/v1/conversations/{CONV}/unsnooze"): Api("item"),
        ("POST", "/api/v1/contacts"): Api("create", {"numbers": ["+12025550199"]},
                                          frozenset({201})),  # contacts belong to no inbox
        ("GET", f"/api/v1/contacts/{CONTACT}"): Api("item"),
        ("POST", f"/api/v1/contacts/{CONTACT}/events"): Api("item", {"kind": "call"}),
        # The contact merged into itself: refused (422) whoever asks, so nothing merges.
        ("POST", f"/api/v1/contacts/{CONTACT}/merge"): Api("item", {"other_id": ids["contact"]}),
        ("POST", "/api/v1/messages"): Api("create", {**new_conversation, "body": "hi"},
                                          frozenset({422})),
        # Notifications: a key reads those of the conversations its inboxes hold.
        ("GET", "/api/v1/notifications"): Api("list", list_key="conversation_id"),
        ("POST", "/api/v1/notifications/{notification_id}/read"): Api("item"),
        ("POST", "/api/v1/notifications/read-all"): Api("item", {"user_id": ids["manager"]},
                                                       frozenset({200})),  # marks none of Sales
        ("GET", "/api/v1/reports"): ReportsApi(),
        # Consent is business-wide: a key for some inboxes is refused.
        ("GET", "/api/v1/consent/records"): Api("item", other_key=frozenset({403})),
        ("GET", "/api/v1/rules/stats"): Api("item", other_key=frozenset({403})),
        # Settings: every route of web/settings is admin-only (tests/settings/test_authz.py
        # checks each with real forms; here: nobody else gets in).
        **{key: AdminOnly() for key in ids["settings_routes"]},
    }  # fmt: skip


# --- the app's route table ---------------------------------------------------------------


def route_table(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers walked (HEAD is GET's)."""
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            if isinstance(route, _IncludedRouter):
                walk(route.original_router.routes, prefix + (route.include_context.prefix or ""))
            elif isinstance(route, Mount):
                found.add(("MOUNT", prefix + route.path))
            else:
                for method in getattr(route, "methods", None) or ():
                    if method != "HEAD":
                        found.add((method, prefix + route.path))

    walk(app.routes, "")
    return found


# --- callers -----------------------------------------------------------------------------


def cookie(secret: str, data: dict[str, str]) -> str:
    """A session cookie as Starlette's SessionMiddleware signs it."""
    return TimestampSigner(secret).sign(b64encode(json.dumps(data).encode())).decode()


@dataclass
class Callers:
    app: FastAPI
    client: TestClient
    secret: str
    users: dict[str, User]
    keys: dict[str, str]
    session_factory: Callable[[], Session]
    made: list[TestClient] = field(default_factory=list)

    def web(self, role: str) -> TestClient:
        """A client signed in as ``role`` (a server session of its own), or anonymous."""
        data = {CSRF_KEY: CSRF}
        if role != "anonymous":
            with self.session_factory() as session:
                data[TOKEN_KEY] = web_sessions.start(session, user=self.users[role])
                session.commit()
        client = TestClient(self.app)
        client.cookies.set(SESSION_COOKIE, cookie(self.secret, data))
        self.made.append(client)
        return client


@pytest.fixture
def matrix(database_url: str, engine: Any, sessions, session, factory, world: World, tmp_path):  # noqa: F811
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    convo = text_in(sessions, world, body=TEXT, number="+12025550161")
    convo = session.get(Conversation, convo.id)
    # The Sales message carries a picture (an MMS), for the media route.
    first = session.scalars(select(Message).where(Message.conversation_id == convo.id)).one()
    first.media = [store_image(settings, PNG)]
    convo.contact.name = NAME
    add_contact_event(
        session, contact=convo.contact, kind=EventKind.NOTE, summary=NOTE, conversation=convo
    )
    # What the settings routes act on: apart from the callers and the Sales inbox, so that an
    # admin deactivating or deleting it changes nothing for the routes checked after.
    target_user = factory.user(name="Target")
    target_inbox = factory.inbox(name="Target inbox")
    target_channel = factory.channel(name="Target line", default_inbox=target_inbox)
    canned_replies.create(session, scope=CannedScope.SHARED, title="Shared one", body="SHARED")
    canned_replies.create(
        session,
        scope=CannedScope.INBOX,
        inbox_id=world.sales.id,
        title="Sales one",
        body="SALES-REPLY",
    )
    canned_replies.create(
        session,
        scope=CannedScope.INBOX,
        inbox_id=world.support.id,
        title="Support one",
        body="SUPPORT-REPLY",
    )
    personal = canned_replies.create(
        session, scope=CannedScope.PERSONAL, owner_id=world.agent.id, title="Own", body=PERSONAL
    )
    notice = notify(session, user=session.get_one(User, world.manager.id),
                    text=f"{NAME} waits: {TEXT}", conversation=convo)  # fmt: skip
    create_field(session, entity="conversation", key="order_ref", label="Order", type="text")
    _, full = create_api_key(session, name="full")
    _, other = create_api_key(session, name="support", inboxes=[world.support])
    _, read = create_api_key(session, name="read", access="read")
    session.commit()
    app = create_app(settings, temporal_client=FakeTemporal())  # type: ignore[arg-type]
    callers = Callers(
        app=app,
        client=TestClient(app),
        secret=settings.secret_key,
        users={"admin": world.admin, "manager": world.manager, "agent": world.agent,
               "outsider": world.other_agent},
        keys={"full": full, "other": other, "read": read},
        session_factory=sessions,
    )  # fmt: skip
    settings_routes = {
        (method, path) for method, path in route_table(app) if path.startswith("/settings")
    }
    ids = {
        "conversation": convo.id,
        "contact": convo.contact_id,
        "channel": world.channel.id,
        "sales": world.sales.id,
        "number": convo.contact_number,
        "manager": world.manager.id,
        "settings_routes": settings_routes,
        "placeholders": {
            "conversation_id": convo.id,
            "contact_id": convo.contact_id,
            "message_id": session.scalars(
                select(Message.id).where(Message.conversation_id == convo.id)
            ).first(),
            "index": 0,
            "file_name": "0123456789abcdef0123456789abcdef.png",
            "action": "close",
            "tag": "vip",
            "entity": "conversation",
            "key": "order_ref",
            "number_id": convo.contact.numbers[0].id,
            "token": "not-a-token",
            "channel_id": target_channel.id,
            "inbox_id": target_inbox.id,
            "user_id": target_user.id,
            "entry_id": 1,
            "field_id": 1,
            "job_id": 1,
            "key_id": 1,
            "notification_id": notice.id,
            "reply_id": personal.id,
        },
    }
    yield callers, ids, expectations(ids)
    for client in callers.made:
        client.close()


def _fill(path: str, placeholders: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(placeholders[m.group(1)]), path)


def _send(client: TestClient, method: str, path: str, *, data=None, json_=None, headers=None):
    headers = {"X-CSRF-Token": CSRF, **(headers or {})}
    return client.request(
        method, path, data=data, json=json_, headers=headers, follow_redirects=False
    )


def _sent_to_sign_in(response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/login")


def _shows_sales(text: str) -> bool:
    return any(secret in text for secret in (NAME, TEXT, NOTE))


# --- the tests ---------------------------------------------------------------------------


def test_every_route_has_a_declared_expectation(matrix):
    callers, _, declared = matrix
    served = route_table(callers.app) - {("MOUNT", "/static")}
    assert served - set(declared) == set(), "routes with no expectation in the route matrix"
    assert set(declared) - served == set(), "the matrix lists routes the app does not serve"


def _check_public(callers: Callers, method: str, path: str, spec: Public) -> None:
    for role in ("anonymous", "agent"):
        response = _send(callers.web(role), method, path, data=spec.data, json_=spec.json)
        assert response.status_code in spec.statuses, (role, response.status_code)


def _check_signed_in(callers: Callers, method: str, path: str, spec: SignedIn) -> None:
    query = "?q=Secret" if method == "GET" and spec.hides else ""
    anonymous = _send(callers.web("anonymous"), method, path + query, data=spec.data)
    assert _sent_to_sign_in(anonymous), anonymous.status_code
    outsider = _send(callers.web("outsider"), method, path + query, data=spec.data)
    assert outsider.status_code in (spec.outsider or spec.statuses), outsider.text[:500]
    if spec.hides:
        assert not _shows_sales(outsider.text), "the outsider sees the Sales inbox"
        for picker_query in ("", "?contact_q=Sally", "?view=closed", "?q=order"):
            again = _send(callers.web("outsider"), method, path + picker_query)
            assert not _shows_sales(again.text), picker_query
    for role in WEB_ROLES:
        response = _send(callers.web(role), method, path + query, data=spec.data)
        assert response.status_code in spec.statuses, (role, response.text[:500])
        if spec.hides and path != "/inbox/list":  # the panel fragment needs HX-Request
            assert NAME in response.text, f"{role} does not see what the inbox holds"


def _check_of_sales(callers: Callers, method: str, path: str, spec: OfSales) -> None:
    anonymous = _send(callers.web("anonymous"), method, path, data=spec.data)
    assert _sent_to_sign_in(anonymous), anonymous.status_code
    outsider = _send(callers.web("outsider"), method, path, data=spec.data)
    assert outsider.status_code == 404, outsider.text[:500]
    assert not _shows_sales(outsider.text)
    for role in WEB_ROLES:
        response = _send(callers.web(role), method, path, data=spec.data)
        assert response.status_code in ALLOWED, (role, response.status_code, response.text[:500])
        if method == "GET":
            assert NAME in response.text or TEXT in response.text, role


def _check_manager_of_sales(callers: Callers, method: str, path: str, spec: ManagerOfSales) -> None:
    anonymous = _send(callers.web("anonymous"), method, path, data=spec.data)
    assert _sent_to_sign_in(anonymous), anonymous.status_code
    for role in ("agent", "outsider"):
        refused = _send(callers.web(role), method, path, data=spec.data)
        assert refused.status_code == 403, (role, refused.status_code)
        assert not _shows_sales(refused.text), role
    for role in ("admin", "manager"):
        response = _send(callers.web(role), method, path, data=spec.data)
        assert response.status_code in ALLOWED, (role, response.status_code, response.text[:500])
        assert NAME in response.text, role


def _check_media_of_sales(callers: Callers, path: str) -> None:
    assert _sent_to_sign_in(_send(callers.web("anonymous"), "GET", path))
    outsider = _send(callers.web("outsider"), "GET", path)
    assert outsider.status_code == 404, outsider.status_code
    assert PNG not in outsider.content
    for role in WEB_ROLES:
        response = _send(callers.web(role), "GET", path)
        assert response.status_code == 200, (role, response.status_code, response.text[:300])
        assert response.content == PNG and response.headers["content-type"] == "image/png"


def _check_own_notification(callers: Callers, method: str, path: str) -> None:
    assert _sent_to_sign_in(_send(callers.web("anonymous"), method, path))
    for role in ("admin", "agent", "outsider"):
        refused = _send(callers.web(role), method, path)
        assert refused.status_code == 404, (role, refused.status_code)
        assert not _shows_sales(refused.text)
    owner = _send(callers.web("manager"), method, path)
    assert owner.status_code in ALLOWED, owner.status_code


def _check_own_canned_reply(callers: Callers, method: str, path: str, spec: OwnCannedReply) -> None:
    assert _sent_to_sign_in(_send(callers.web("anonymous"), method, path, data=spec.data))
    for role in ("admin", "manager", "outsider"):
        refused = _send(callers.web(role), method, path, data=spec.data)
        assert refused.status_code == 404, (role, refused.status_code)
        assert PERSONAL not in refused.text, role
    owner = _send(callers.web("agent"), method, path, data=spec.data)
    assert owner.status_code in ALLOWED, owner.status_code


def _check_canned_replies(callers: Callers, path: str, spec: CannedReplies) -> None:
    assert _sent_to_sign_in(_send(callers.web("anonymous"), "GET", path))
    outsider = _send(callers.web("outsider"), "GET", path)
    assert PERSONAL not in outsider.text
    if spec.of_sales:
        assert outsider.status_code == 404, outsider.status_code
        assert "SALES-REPLY" not in outsider.text and "SHARED" not in outsider.text
    for role in WEB_ROLES:
        response = _send(callers.web(role), "GET", path)
        assert response.status_code == 200, (role, response.status_code)
        assert (PERSONAL in response.text) == (role == "agent"), role
        if spec.of_sales:
            assert "SHARED" in response.text and "SALES-REPLY" in response.text, role
            assert "SUPPORT-REPLY" not in response.text, role


def _check_stream(callers: Callers, path: str) -> None:
    assert _sent_to_sign_in(_send(callers.web("anonymous"), "GET", path))
    for role in (*WEB_ROLES, "outsider"):
        first, scopes = asyncio.run(_first_chunk(callers.app, path, callers.web(role).cookies))
        assert first.startswith(b": connected"), (role, first)
        with callers.session_factory() as session:
            user = session.get(User, callers.users[role].id)
            expected = visibility.scope_for_user(session, user).inbox_ids
        assert scopes == [expected], role


async def _first_chunk(
    app: FastAPI, path: str, cookies: Any
) -> tuple[bytes, list[frozenset[int] | None]]:
    """The first bytes of a streamed answer and the inboxes its subscriber may see; the
    stream is then cancelled (it never ends by itself)."""
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    scope = {
        "type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
        "query_string": b"", "headers": [(b"cookie", header.encode()), (b"host", b"test")],
        "client": ("127.0.0.1", 1), "server": ("test", 80), "scheme": "http",
        "http_version": "1.1", "root_path": "", "app": app,
    }  # fmt: skip
    got: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)  # the client never sends a body, nor leaves early
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message.get("body") and not got.done():
            got.set_result(message["body"])

    follower = app.state.web_live
    task = asyncio.create_task(app(scope, receive, send))
    try:
        first = await asyncio.wait_for(got, 10)
        return first, [subscriber.inbox_ids for subscriber in follower._subscribers]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await follower.stop()


def _check_admin_only(callers: Callers, method: str, path: str, spec: AdminOnly) -> None:
    assert _sent_to_sign_in(_send(callers.web("anonymous"), method, path, data=spec.data))
    for role in ("manager", "agent", "outsider"):
        refused = _send(callers.web(role), method, path, data=spec.data)
        assert refused.status_code == 403, (role, refused.status_code)
    admin = _send(callers.web("admin"), method, path, data=spec.data)
    assert admin.status_code < 500 and admin.status_code not in (401, 403), admin.status_code


def _check_api(callers: Callers, method: str, path: str, spec: Api, ids: dict[str, Any]) -> None:
    def call(key: str | None, client: TestClient | None = None):
        headers = {"Authorization": f"Bearer {callers.keys[key]}"} if key else {}
        return _send(client or callers.client, method, path, json_=spec.json, headers=headers)

    assert call(None).status_code == 401
    assert call(None, callers.web("admin")).status_code == 401  # a web session is no API key
    read = call("read")
    if method == "GET":
        assert read.status_code == 200
    else:
        assert read.status_code == 403 and read.json() == {"detail": "this API key is read-only"}
    other = call("other")
    if spec.kind == "list":
        assert other.status_code == 200
        assert ids["conversation"] not in [c[spec.list_key] for c in other.json()["items"]]
    else:
        assert other.status_code in spec.other_key, other.text
        assert not _shows_sales(other.text)
    full = call("full")
    assert full.status_code in ALLOWED, full.text
    if spec.kind == "list":
        assert ids["conversation"] in [c[spec.list_key] for c in full.json()["items"]]


def _check_reports(callers: Callers, path: str) -> None:
    query = path + "?by=inbox"
    assert _sent_to_sign_in(_send(callers.web("anonymous"), "GET", query))
    for role in (*WEB_ROLES, "outsider"):
        response = _send(callers.web(role), "GET", query)
        assert response.status_code == 200, (role, response.status_code)
        assert ("Sales" in response.text) == (role != "outsider"), role
        assert not _shows_sales(response.text), role


def _check_reports_api(callers: Callers, path: str) -> None:
    # The Sales conversation's facts are dated today.
    today = utcnow().date().isoformat()
    assert _send(callers.client, "GET", f"{path}?from={today}&to={today}").status_code == 401
    assert _send(callers.web("admin"), "GET", f"{path}?from={today}&to={today}").status_code == 401
    for key, sees in (("read", True), ("full", True), ("other", False)):
        headers = {"Authorization": f"Bearer {callers.keys[key]}"}
        response = _send(callers.client, "GET", f"{path}?from={today}&to={today}",
                         headers=headers)  # fmt: skip
        assert response.status_code == 200, (key, response.status_code)
        assert ("Sales" in [row["label"] for row in response.json()["rows"]]) == sees, key


def _check_webhook(callers: Callers, method: str, path: str) -> None:
    for role in ("anonymous", "admin"):
        response = callers.web(role).post(path, data={"MessageSid": "SM1", "Body": "x"})
        assert response.status_code == 403


def test_each_route_against_each_caller(matrix):
    callers, ids, declared = matrix
    failures: dict[str, str] = {}
    for (method, template), spec in sorted(declared.items()):
        path = _fill(template, ids["placeholders"])
        try:
            if isinstance(spec, Public):
                _check_public(callers, method, path, spec)
            elif isinstance(spec, SignedIn):
                _check_signed_in(callers, method, path, spec)
            elif isinstance(spec, OfSales):
                _check_of_sales(callers, method, path, spec)
            elif isinstance(spec, ManagerOfSales):
                _check_manager_of_sales(callers, method, path, spec)
            elif isinstance(spec, MediaOfSales):
                _check_media_of_sales(callers, path)
            elif isinstance(spec, OwnNotification):
                _check_own_notification(callers, method, path)
            elif isinstance(spec, OwnCannedReply):
                _check_own_canned_reply(callers, method, path, spec)
            elif isinstance(spec, CannedReplies):
                _check_canned_replies(callers, path, spec)
            elif isinstance(spec, Stream):
                _check_stream(callers, path)
            elif isinstance(spec, AdminOnly):
                _check_admin_only(callers, method, path, spec)
            elif isinstance(spec, Api):
                _check_api(callers, method, path, spec, ids)
            elif isinstance(spec, Reports):
                _check_reports(callers, path)
            elif isinstance(spec, ReportsApi):
                _check_reports_api(callers, path)
            else:
                _check_webhook(callers, method, path)
        except AssertionError as exc:  # report every route that fails, not just the first
            failures[f"{method} {template}"] = str(exc)[:600]
    assert failures == {}, "\n".join(f"{route}: {why}" for route, why in failures.items())


def test_ids_past_the_database_are_a_4xx_on_every_route_that_takes_one(matrix):
    callers, ids, declared = matrix
    placeholders = {**ids["placeholders"], **{
        name: HUGE for name in ids["placeholders"] if name.endswith("_id")
    }}  # fmt: skip
    admin = callers.web("admin")
    key = {"Authorization": f"Bearer {callers.keys['full']}"}
    checked = 0
    for (method, template), spec in sorted(declared.items()):
        if "_id}" not in template:
            continue
        headers = key if isinstance(spec, Api) else {}
        data = getattr(spec, "data", None)
        response = _send(admin, method, _fill(template, placeholders), data=data,
                         json_=getattr(spec, "json", None), headers=headers)  # fmt: skip
        assert 400 <= response.status_code < 500, (method, template, response.status_code)
        checked += 1
    assert checked > 30
    with callers.session_factory() as session:  # nothing was written for them
        assert session.scalar(select(func.count()).select_from(Conversation)) == 1
