"""Settings · Compliance: keyword lists, quiet hours and the cap are checked and take effect for
the next message; a person's consent change needs a note and cannot end a contact's own STOP;
the records export for an audit. Refusals say which field, and store nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import func, select

from inbox.consent.keywords import Keyword
from inbox.consent.quiet_hours import held_until
from inbox.models import AuditLog, ComplianceSettings, ConsentRecord, ConsentState
from inbox.services import consent
from inbox.services.admin import compliance
from inbox.services.admin.errors import SettingsError
from tests.web.conftest import World, text_in

FORM = {
    "opt_out_words": "STOP\nQUIT\nBASTA",
    "opt_in_words": "START\nYES",
    "help_words": "HELP",
    "quiet_start": "09:00",
    "quiet_end": "20:00",
    "state_windows": "FL 09:00-19:00\n",
    "automated_per_day": 2,
}


def _save(session, world: World, **change: object) -> ComplianceSettings:
    return compliance.save(session, actor=world.admin, **(FORM | change))  # type: ignore[arg-type]


def test_saved_settings_are_what_the_guard_uses(session, world):
    _save(session, world)
    session.flush()
    rules = consent.compliance(session)
    assert rules.keywords.classify("basta!") == Keyword.OPT_OUT  # a word of the business's own
    assert rules.keywords.classify("end") is None  # no longer in the list
    assert rules.automated_per_day == 2
    assert (rules.quiet_hours.start, rules.quiet_hours.end) == (time(9), time(20))
    assert rules.quiet_hours.states == {"FL": (time(9), time(19))}
    # 08:30 in New York (a 202 number is Washington, in the same zone) is now quiet.
    morning = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)
    assert held_until(morning, "+12025550100", rules.quiet_hours) == datetime(
        2026, 12, 1, 14, 0, tzinfo=UTC
    )
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "compliance.update")).one()
    assert audit.actor_id == world.admin.id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"quiet_start": "9am"}, "quiet hours start: '9am' is not a time like 08:00"),
        ({"state_windows": "Florida 8-8"}, "state windows: 'Florida 8-8' is not like"),
        ({"opt_out_words": ""}, "opt-out words: list at least one word"),
        ({"opt_out_words": "STOP\n!!!"}, "opt-out words: '!!!' is not a word"),
        ({"help_words": "STOP"}, "STOP is in another list too"),
        ({"automated_per_day": 101}, "automated texts a day: 0 to 100"),
    ],
)
def test_bad_settings_are_refused_with_the_field(session, world, change, message):
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        _save(session, world, **change)
    assert session.get(ComplianceSettings, 1).quiet_start == "00:00"  # the test's row, unchanged


def test_the_page_saves_and_a_bad_form_comes_back_with_the_reason(login, session):
    admin = login("admin@example.com")
    ok = admin.post("/settings/compliance", htmx=False, data=FORM)
    assert ok.status_code == 303
    page = admin.client.get("/settings/compliance")
    assert "BASTA" in page.text
    bad = admin.post("/settings/compliance", htmx=False, data=FORM | {"quiet_end": "late"})
    assert bad.status_code == 422
    assert "quiet hours end: &#39;late&#39; is not a time like 08:00" in bad.text
    session.expire_all()
    assert session.get(ComplianceSettings, 1).quiet_end == "20:00"  # the first save stands


def test_a_person_records_an_opt_out_with_a_note_and_ends_only_their_own(
    login, session, sessions, world
):
    admin = login("admin@example.com")
    form = {"number": "(202) 555-0150", "action": "opt_out", "note": ""}
    refused = admin.post("/settings/compliance/numbers", htmx=False, data=form)
    assert refused.status_code == 422
    assert "note: say why" in refused.text
    assert session.scalar(select(func.count()).select_from(ConsentRecord)) == 0
    recorded = admin.post(
        "/settings/compliance/numbers", htmx=False, data=form | {"note": "Asked on a call"}
    )
    assert recorded.status_code == 303
    session.expire_all()
    state = session.get(ConsentState, "+12025550150")
    assert state is not None and state.opted_out
    assert consent.send_blocked(session, "+12025550150") is not None
    opt_in = {"number": "+12025550150", "action": "opt_in", "note": "Signed the form again"}
    assert admin.post("/settings/compliance/numbers", htmx=False, data=opt_in).status_code == 303
    session.expire_all()
    assert session.get(ConsentState, "+12025550150").opted_out is False
    # A contact's own STOP is not a person's to end.
    text_in(sessions, world, body="STOP", number="+12025550151")
    own = admin.post(
        "/settings/compliance/numbers", htmx=False, data=opt_in | {"number": "+12025550151"}
    )
    assert own.status_code == 422
    assert "only the contact can end it, by texting START" in own.text
    session.expire_all()
    assert session.get(ConsentState, "+12025550151").opted_out is True
    bad_number = admin.post(
        "/settings/compliance/numbers", htmx=False, data=form | {"number": "12"}
    )
    assert bad_number.status_code == 422
    assert "number:" in bad_number.text


def test_records_export_names_the_channel_contact_and_person(login, session, sessions, world):
    text_in(sessions, world, body="Stop!", number="+12025550152")
    admin = login("admin@example.com")
    admin.post(
        "/settings/compliance/numbers",
        htmx=False,
        data={"number": "+12025550153", "action": "opt_out", "note": "By e-mail"},
    )
    response = admin.client.get("/settings/compliance/records.csv")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="consent-records.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["number"], r["action"], r["method"], r["keyword"]) for r in rows] == [
        ("+12025550152", "opt_out", "keyword", "STOP"),
        ("+12025550153", "opt_out", "manual", ""),
    ]
    assert rows[0]["channel"] == world.channel.name
    assert rows[0]["message_id"] != ""
    assert rows[1]["recorded_by"] == "admin@example.com"
    assert rows[1]["note"] == "By e-mail"
