"""Browser tests of the settings pages (Debian's Chromium through Playwright), one main flow
per page, plus the issue's "Done when" flow from an empty database. Screenshots of each page go
to ``settings-*.png`` in the folder ``tests/screenshots.py`` names. Run with
``pytest -m browser tests/settings``."""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inbox.auth import create_user
from inbox.models import (
    BlockedNumber,
    Contact,
    ContactNumber,
    Conversation,
    ConversationStatus,
    CustomFieldDefinition,
    Inbox,
    RuleRun,
    User,
)
from inbox.services.inbound import receive_inbound
from inbox.settings import Settings
from tests import screenshots
from tests.web.conftest import PASSWORD, World
from tests.web.test_browser import open_page, serve

pytestmark = pytest.mark.browser

REPO_RULES = Path(__file__).resolve().parents[2] / "rules"
_sids = itertools.count(1)


@pytest.fixture
def server(app_settings: Settings, engine: Any) -> Iterator[str]:
    """The whole app (with its own data folder) on a free 127.0.0.1 port, in a thread."""
    with serve(app_settings) as url:
        yield url


def shot(page: Page, name: str) -> None:
    screenshots.shot(page, f"settings-{name}", full_page=True)


def admin_page(chromium: Browser, contexts: list[Any], server: str) -> Page:
    return open_page(chromium, contexts, server, "admin@example.com")


def text_in(sessions: sessionmaker[Session], to: str, number: str, body: str) -> Conversation:
    """A contact texts ``to`` through the real inbound path."""
    with sessions() as session:
        result = receive_inbound(
            session,
            provider="simulator",
            provider_message_id=f"SMset{next(_sids)}",
            from_number=number,
            to_number=to,
            body=body,
            media=[],
        )
        session.commit()
        session.refresh(result.conversation)
        return result.conversation


def test_channels_page_adds_a_channel(server, chromium, contexts, world: World, session):
    page = admin_page(chromium, contexts, server)
    page.click("#nav-settings")
    expect(page).to_have_url(re.compile(r"/settings/channels"))
    form = page.locator("#channel-form")
    form.locator("input[name=name]").fill("Support line")
    form.locator("input[name=number]").fill("(415) 555-0142")
    form.locator("select[name=default_inbox_id]").select_option(label="Support")
    form.locator("button[type=submit]").click()
    expect(page.locator("#channels input[value='+14155550142']")).to_be_visible()
    form.locator("input[name=name]").fill("Clash")
    form.locator("input[name=number]").fill("+14155550142")
    form.locator("button[type=submit]").click()
    expect(page.locator("#settings-error")).to_contain_text("belongs to channel 'Support line'")
    shot(page, "channels")


def test_inboxes_page_sets_assignee_members_and_hours(
    server, chromium, contexts, world: World, sessions
):
    page = admin_page(chromium, contexts, server)
    page.goto("/settings/inboxes")
    form = page.locator(".inbox-form")
    form.locator("input[name=name]").fill("Renewals")
    form.locator("select[name=default_assignee_id]").select_option(label="Olive Other (agent)")
    form.get_by_role("checkbox", name="Alex Agent", exact=True).check()
    form.locator("input[name=timezone]").fill("America/New_York")
    form.locator("input[name=hours_mon]").fill("09:00-17:00")
    form.locator("button[type=submit]").click()
    row = page.locator("#inboxes tr", has_text="Renewals")
    expect(row).to_contain_text("Olive Other")
    expect(row).to_contain_text("Alex Agent")
    with sessions() as session:
        inbox = session.scalars(select(Inbox).where(Inbox.name == "Renewals")).one()
        assert inbox.business_hours == {"mon": [["09:00", "17:00"]]}
        assert inbox.timezone == "America/New_York"
    row.locator("a", has_text="Edit").click()
    expect(page.locator("#delete-inbox")).to_be_visible()
    shot(page, "inboxes")


def test_users_page_invites_and_the_link_sets_a_password(
    server, chromium, contexts, world: World, sessions
):
    page = admin_page(chromium, contexts, server)
    page.goto("/settings/users")
    form = page.locator("#user-form")
    form.locator("input[name=name]").fill("Nia New")
    form.locator("input[name=email]").fill("nia@example.com")
    form.locator("select[name=manager_id]").select_option(label="Max Manager")
    form.locator("button[type=submit]").click()
    shown = page.locator("#invite-link").inner_text().strip()
    assert shown.startswith("http://127.0.0.1:8000/set-password/")  # on INBOX_PUBLIC_URL
    link = urlsplit(shown).path
    expect(page.locator("#users tr", has_text="nia@example.com")).to_contain_text("invited")
    shot(page, "users")
    guest = chromium.new_context(base_url=server)
    contexts.append(guest)
    visitor = guest.new_page()
    visitor.goto(link)
    visitor.fill("input[name=password]", "a brand new password")
    visitor.fill("input[name=confirm]", "a brand new password")
    visitor.click("button[type=submit]")
    expect(visitor).to_have_url(re.compile(r"/login"))
    visitor.fill("input[name=email]", "nia@example.com")
    visitor.fill("input[name=password]", "a brand new password")
    visitor.click("button[type=submit]")
    expect(visitor.locator(".me-name")).to_contain_text("Nia New")
    visitor.goto(link)  # used: the link no longer works
    expect(visitor.locator(".form-error")).to_contain_text("used already")
    with sessions() as session:
        nia = session.scalars(select(User).where(User.email == "nia@example.com")).one()
        assert nia.manager_id == world.manager.id


def test_blocklist_page_blocks_and_unblocks(server, chromium, contexts, world: World, sessions):
    conversation = text_in(sessions, world.channel.number or "", "+12025550166", "WIN A PRIZE")
    page = admin_page(chromium, contexts, server)
    page.goto("/settings/blocklist")
    page.fill("#block-form input[name=number]", "202-555-0166")
    page.fill("#block-form input[name=reason]", "prize scam")
    page.click("#block-form button[type=submit]")
    row = page.locator("#blocklist tr", has_text="+12025550166")
    expect(row).to_contain_text("prize scam")
    expect(row).to_contain_text("Ada Admin")
    expect(page.locator(f"#spam-{conversation.id}")).to_be_visible()
    shot(page, "blocklist")
    with sessions() as session:
        assert session.get(Conversation, conversation.id).status == ConversationStatus.SPAM
    row.locator("button", has_text="Unblock").click()
    expect(page.locator("#blocklist")).to_contain_text("Nobody is blocked")
    with sessions() as session:
        assert session.get(Conversation, conversation.id).status == ConversationStatus.OPEN


def test_fields_page_adds_a_choice_field(server, chromium, contexts, world: World, sessions):
    page = admin_page(chromium, contexts, server)
    page.goto("/settings/fields")
    form = page.locator("#field-form")
    form.locator("select[name=entity]").select_option("contact")
    form.locator("input[name=label]").fill("Plan")
    form.locator("input[name=key]").fill("plan")
    form.locator("select[name=type]").select_option("choice")
    form.locator("textarea[name=choices]").fill("Basic, Pro")
    form.locator("button[type=submit]").click()
    expect(page.locator("#fields")).to_contain_text("contact.fields.plan")
    with sessions() as session:
        field = session.scalars(select(CustomFieldDefinition)).one()
        assert (field.type, field.choices) == ("choice", ["Basic", "Pro"])
    shot(page, "fields")


def test_merge_fields_page_previews_against_a_contact(
    server, chromium, contexts, world: World, sessions
):
    conversation = text_in(sessions, world.channel.number or "", "+12025550131", "hello")
    with sessions() as session:
        contact = session.get(Contact, conversation.contact_id)
        contact.name = "Ana Lima"
        session.commit()
    page = admin_page(chromium, contexts, server)
    page.goto("/settings/merge-fields")
    expect(page.locator("#merge-fields")).to_contain_text("contact.first_name")
    page.select_option("#preview-contact", str(conversation.contact_id))
    page.click("#preview-form button[type=submit]")
    expect(page.locator("#preview-text")).to_have_text("Hi Ana, this is Alex from Sales.")
    page.fill("#preview-template", "{{ contact.nmae }}")
    page.click("#preview-form button[type=submit]")
    expect(page.locator("#preview .form-error")).to_contain_text("did you mean 'contact.name'")
    page.fill(
        "#preview-template", "Hi {{ contact.first_name }}, this is {{ assignee.first_name }}."
    )
    page.click("#preview-form button[type=submit]")
    expect(page.locator("#preview-text")).to_have_text("Hi Ana, this is Alex.")
    shot(page, "merge-fields")


def _upload_and_import(page: Page, csv_path: Path) -> None:
    page.goto("/settings/import")
    page.set_input_files("#upload-file", str(csv_path))
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#mapping-form")).to_be_visible()
    page.click("#start-import")
    expect(page.locator("#import-status")).to_have_text("done", timeout=30_000)


def test_import_page_maps_columns_and_reports_bad_rows(
    server, chromium, contexts, world: World, sessions, tmp_path
):
    source = tmp_path / "contacts.csv"
    lines = ["Name,Phone,Email"] + [
        f"Person {i},+1202555{i:04d},p{i}@example.com" for i in range(40)
    ]
    lines[5] = "Broken,12345,"
    lines[9] = "Twin,+12025550001,"
    source.write_text("\n".join(lines) + "\n")
    page = admin_page(chromium, contexts, server)
    _upload_and_import(page, source)
    expect(page.locator("#imported")).to_have_text("38")
    expect(page.locator("#failed")).to_have_text("2")
    errors = page.locator("#row-errors tbody tr")
    expect(errors.nth(0)).to_contain_text("6")
    expect(errors.nth(0)).to_contain_text("bad phone number")
    expect(errors.nth(1)).to_contain_text("10")
    expect(errors.nth(1)).to_contain_text("duplicate")
    shot(page, "import")


def test_export_page_downloads_contacts(server, chromium, contexts, world: World, sessions):
    text_in(sessions, world.channel.number or "", "+12025550177", "export me")
    page = admin_page(chromium, contexts, server)
    page.goto("/settings/export")
    shot(page, "export")
    with page.expect_download() as info:
        page.click("#export-contacts")
    text = Path(info.value.path()).read_text()
    assert text.splitlines()[0].startswith("id,name,numbers")
    assert "+12025550177" in text
    with page.expect_download() as info:
        page.click("#export-conversations")
    assert "export me" in Path(info.value.path()).read_text()


def test_api_keys_page_shows_the_key_once_and_revokes(server, chromium, contexts, world: World):
    page = admin_page(chromium, contexts, server)
    page.goto("/settings/api-keys")
    page.fill("#key-form input[name=name]", "CRM integration")
    page.click("#key-form button[type=submit]")
    key = page.locator("#plain-key").inner_text().strip()
    assert key.startswith("inbx_")
    shot(page, "api-keys")
    # The key works against the JSON API, then is never shown again.
    response = page.request.get("/api/v1/conversations", headers={"Authorization": f"Bearer {key}"})
    assert response.status == 200
    page.goto("/settings/api-keys")
    expect(page.locator("#plain-key")).to_have_count(0)
    row = page.locator("#api-keys tr", has_text="CRM integration")
    expect(row).not_to_contain_text("never")  # last used is shown
    row.locator("button", has_text="Revoke").click()
    expect(page.locator("#api-keys tr", has_text="CRM integration")).to_contain_text("revoked")
    response = page.request.get("/api/v1/conversations", headers={"Authorization": f"Bearer {key}"})
    assert response.status == 401


def test_automation_page_lists_rules_problems_and_runs(
    server, chromium, contexts, world: World, sessions, app_settings
):
    for path in REPO_RULES.glob("*.yaml"):
        shutil.copy(path, app_settings.rules_dir / path.name)
    (app_settings.rules_dir / "zz-typo.yaml").write_text(
        "- name: typo\n  trigger: message_recieved\n  then:\n    - close: {}\n"
    )
    conversation = text_in(sessions, world.channel.number or "", "+12025550188", "hi")
    with sessions() as session:
        session.add_all(
            [
                RuleRun(run_key="r1", rule="acknowledge", version="1a2b3c4d",
                        trigger="message_received", conversation_id=conversation.id,
                        trigger_key="msg-1", outcome="fired", reason="",
                        actions=[{"kind": "send_sms", "status": "done",
                                  "detail": "queued message 2"}]),
                RuleRun(run_key="r2", rule="alert-manager-on-slow-reply", version="9f8e7d6c",
                        trigger="message_received", conversation_id=conversation.id,
                        trigger_key="msg-1", outcome="skipped",
                        reason="conversation.awaiting_reply is false, not true"),
            ]
        )  # fmt: skip
        session.commit()
    page = admin_page(chromium, contexts, server)
    page.goto("/settings/automation")
    expect(page.locator("#rule-files")).to_contain_text("zz-typo.yaml")
    expect(page.locator("#rule-files")).to_contain_text("did you mean 'message_received'")
    expect(page.locator("#rule-runs")).to_contain_text("awaiting_reply is false")
    shot(page, "automation")
    page.locator("#rule-runs a", has_text=f"#{conversation.id}").first.click()
    expect(page).to_have_url(re.compile(rf"/inbox/{conversation.id}"))


def test_audit_page_shows_who_changed_what(server, chromium, contexts, world: World):
    page = admin_page(chromium, contexts, server)
    page.goto("/settings/fields")
    page.fill("#field-form input[name=label]", "Company")
    page.fill("#field-form input[name=key]", "company")
    page.click("#field-form button[type=submit]")
    page.goto("/settings/blocklist")
    page.fill("#block-form input[name=number]", "+12025550199")
    page.click("#block-form button[type=submit]")
    page.goto("/settings/audit")
    rows = page.locator("#audit tbody tr")
    expect(rows.nth(0)).to_contain_text("blocklist.block")
    expect(rows.nth(0)).to_contain_text("Ada Admin")
    expect(rows.nth(1)).to_contain_text("field.create")
    expect(rows.nth(1)).to_contain_text("contact.fields.company")
    shot(page, "audit")


def test_done_when_new_admin_sets_up_from_an_empty_database(
    server, chromium, contexts, sessions, tmp_path
):
    """Empty database → first admin (``inbox user create``) → in the browser: two agents with a
    manager, an inbox with a default assignee, a channel, a custom field, a CSV import, block
    and unblock a spammer → texts to the new number land in that inbox with that assignee."""
    with sessions() as session:
        assert session.scalars(select(User)).first() is None
        create_user(session, email="admin@example.com", name="Ada Admin", role="admin",
                    password=PASSWORD)  # fmt: skip
        session.commit()
    page = admin_page(chromium, contexts, server)

    def add_user(name: str, email: str, role: str, manager: str | None) -> None:
        page.goto("/settings/users")
        form = page.locator("#user-form")
        form.locator("input[name=name]").fill(name)
        form.locator("input[name=email]").fill(email)
        form.locator("select[name=role]").select_option(role)
        if manager:
            form.locator("select[name=manager_id]").select_option(label=manager)
        form.locator("input[name=password]").fill("agents pass 123")
        form.locator("button[type=submit]").click()
        expect(page.locator("#users")).to_contain_text(email)

    add_user("Mia Manager", "mia@example.com", "manager", None)
    add_user("Ann Agent", "ann@example.com", "agent", "Mia Manager")
    add_user("Ben Agent", "ben@example.com", "agent", "Mia Manager")

    page.goto("/settings/inboxes")
    form = page.locator(".inbox-form")
    form.locator("input[name=name]").fill("Sales")
    form.locator("select[name=default_assignee_id]").select_option(label="Ben Agent (agent)")
    form.get_by_role("checkbox", name="Ann Agent", exact=True).check()
    form.locator("button[type=submit]").click()
    expect(page.locator("#inboxes")).to_contain_text("Ben Agent")

    page.goto("/settings/channels")
    form = page.locator("#channel-form")
    form.locator("input[name=name]").fill("Sales line")
    form.locator("input[name=number]").fill("+1 415 555 0123")
    form.locator("select[name=default_inbox_id]").select_option(label="Sales")
    form.locator("button[type=submit]").click()
    expect(page.locator("#channels input[value='+14155550123']")).to_be_visible()

    page.goto("/settings/fields")
    page.fill("#field-form input[name=label]", "Company")
    page.fill("#field-form input[name=key]", "company")
    page.click("#field-form button[type=submit]")
    expect(page.locator("#fields")).to_contain_text("contact.fields.company")

    source = tmp_path / "leads.csv"
    source.write_text(
        "Name,Phone,Company\nCarla Customer,+12025550142,Acme\nNo Good,not-a-number,X\n"
    )
    _upload_and_import(page, source)
    expect(page.locator("#imported")).to_have_text("1")
    expect(page.locator("#row-errors")).to_contain_text("bad phone number")

    page.goto("/settings/blocklist")
    page.fill("#block-form input[name=number]", "+12025550666")
    page.click("#block-form button[type=submit]")
    expect(page.locator("#blocklist")).to_contain_text("+12025550666")
    spam = text_in(sessions, "+14155550123", "+12025550666", "cheap pills")
    assert spam.status == ConversationStatus.SPAM  # kept, hidden
    page.locator("#blocklist tr", has_text="+12025550666").locator("button").click()
    expect(page.locator("#blocklist")).to_contain_text("Nobody is blocked")

    with sessions() as session:
        ben = session.scalars(select(User).where(User.email == "ben@example.com")).one()
        ann = session.scalars(select(User).where(User.email == "ann@example.com")).one()
        mia = session.scalars(select(User).where(User.email == "mia@example.com")).one()
        assert ben.manager_id == mia.id and ann.manager_id == mia.id
        carla = session.scalars(
            select(Contact).join(ContactNumber).where(ContactNumber.number == "+12025550142")
        ).one()
        assert carla.fields == {"company": "Acme"}
        assert session.scalars(select(BlockedNumber)).first() is None
    arrived = text_in(sessions, "+14155550123", "+12025550142", "Hi, I'd like a quote")
    again = text_in(sessions, "+14155550123", "+12025550666", "sorry, real question")
    with sessions() as session:
        sales = session.scalars(select(Inbox).where(Inbox.name == "Sales")).one()
        for conversation in (arrived, again):
            assert conversation.inbox_id == sales.id
            assert conversation.status == ConversationStatus.OPEN
        assert arrived.assignee_id == ben.id
        assert arrived.contact_id == carla.id
    page.goto(f"/inbox/{arrived.id}")
    expect(page.locator("#detail-assignee")).to_have_text("Ben Agent")
    expect(page.locator("#detail-inbox")).to_have_text("Sales")
    expect(page.locator("#timeline")).to_contain_text("I'd like a quote")
