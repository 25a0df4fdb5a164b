"""Settings → Inboxes: holidays are edited next to the business hours, saved, shown again in
the form, and a date that is not a date is refused with a clear error."""

from __future__ import annotations

import html as html_lib
import re

from inbox.models import Inbox

FORM = {
    "name": "Sales",
    "timezone": "America/New_York",
    "default_assignee_id": "",
    "hours_mon": "09:00-17:00",
}


def _holidays_field(page: str) -> str:
    match = re.search(r'<textarea name="holidays"[^>]*>([^<]*)</textarea>', page)
    assert match, "the form has no holidays field"
    return html_lib.unescape(match.group(1))


def test_holidays_round_trip_through_the_form(login, world, sessions):
    admin = login("admin@example.com")
    url = f"/settings/inboxes/{world.sales.id}"
    assert _holidays_field(admin.get(url).text) == ""
    saved = admin.post(url, {**FORM, "holidays": "2026-12-25,2026-12-24\n 2026-12-25"})
    assert saved.status_code == 303
    with sessions() as session:
        inbox = session.get(Inbox, world.sales.id)
        assert inbox is not None and inbox.holidays == ["2026-12-24", "2026-12-25"]
    page = admin.get(url).text
    assert _holidays_field(page) == "2026-12-24, 2026-12-25"
    assert "closed 2026-12-24, 2026-12-25" in admin.get("/settings/inboxes").text
    cleared = admin.post(url, {**FORM, "holidays": ""})
    assert cleared.status_code == 303
    with sessions() as session:
        assert session.get(Inbox, world.sales.id).holidays == []


def test_a_bad_date_is_refused_and_the_form_keeps_the_text(login, world, sessions):
    admin = login("admin@example.com")
    url = f"/settings/inboxes/{world.sales.id}"
    assert admin.post(url, {**FORM, "holidays": "2026-12-25"}).status_code == 303
    refused = admin.post(url, {**FORM, "holidays": "2026-12-26, 2026-02-30"})
    assert refused.status_code == 422
    assert "holidays: &#39;2026-02-30&#39; is not a date like 2026-12-25" in refused.text
    assert _holidays_field(refused.text) == "2026-12-26, 2026-02-30"
    with sessions() as session:
        assert session.get(Inbox, world.sales.id).holidays == ["2026-12-25"]  # unchanged
