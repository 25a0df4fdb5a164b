"""``POST /api/v1/conversations/{id}/snooze`` and ``/unsnooze``: the row, the timeline and the
workflow's signals; bad times named; a closed conversation refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from inbox.contracts import SNOOZE_UNTIL_REPLY, conversation_workflow_id
from inbox.models import ContactEvent, Conversation, EventKind
from inbox.services import snooze


async def test_snooze_until_a_time_then_unsnooze(api_client, factory, fake_temporal, sessions):
    convo = factory.conversation()
    base = f"/api/v1/conversations/{convo.id}"
    until = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    snoozed = await api_client.post(f"{base}/snooze", json={"until": until.isoformat()})
    assert snoozed.status_code == 200
    assert datetime.fromisoformat(snoozed.json()["snoozed_until"]) == until
    unsnoozed = await api_client.post(f"{base}/unsnooze")
    assert unsnoozed.status_code == 200 and unsnoozed.json()["snoozed_until"] is None
    again = await api_client.post(f"{base}/unsnooze")
    assert again.status_code == 409 and again.json()["detail"] == "The conversation is not snoozed"
    with sessions() as session:
        events = session.scalars(
            select(ContactEvent)
            .where(
                ContactEvent.conversation_id == convo.id,
                ContactEvent.kind.in_([EventKind.SNOOZED, EventKind.UNSNOOZED]),
            )
            .order_by(ContactEvent.id)
        ).all()
    assert events[0].summary.startswith("Snoozed until ")
    assert events[0].summary.endswith("through the API")
    assert events[1].summary == "Back from snooze: ended through the API"
    assert fake_temporal.signals(conversation_workflow_id(convo.id)) == [
        ("snoozed", f"snoozed-{events[0].id}"),
        ("unsnoozed", f"unsnoozed-{events[1].id}"),
    ]
    assert fake_temporal.calls[0].payload["snoozed_until"].startswith(until.isoformat()[:19])


async def test_snooze_until_reply_and_tomorrow(api_client, factory, sessions):
    inbox = factory.inbox(
        name="Support",
        timezone="America/New_York",
        business_hours={day: [["08:30", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
    )
    convo = factory.conversation(channel=factory.channel(default_inbox=inbox))
    base = f"/api/v1/conversations/{convo.id}"
    reply = await api_client.post(f"{base}/snooze", json={"until": "reply"})
    assert datetime.fromisoformat(reply.json()["snoozed_until"]) == SNOOZE_UNTIL_REPLY
    tomorrow = await api_client.post(f"{base}/snooze", json={"until": "tomorrow"})
    when = datetime.fromisoformat(tomorrow.json()["snoozed_until"]).astimezone(
        ZoneInfo("America/New_York")
    )
    today = datetime.now(ZoneInfo("America/New_York")).date()
    # The inbox's first opening from tomorrow on: a weekday at 08:30, its time.
    assert (when.hour, when.minute) == (8, 30) and when.weekday() < 5
    assert today < when.date() <= today + timedelta(days=3)


async def test_bad_times_are_named_and_a_closed_conversation_is_refused(
    api_client, factory, sessions
):
    convo = factory.conversation()
    base = f"/api/v1/conversations/{convo.id}"
    for until in ("someday", (datetime.now(UTC) - timedelta(hours=1)).isoformat()):
        response = await api_client.post(f"{base}/snooze", json={"until": until})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "until"]
    assert (await api_client.post(f"{base}/close")).status_code == 200
    closed = await api_client.post(f"{base}/snooze", json={"until": "reply"})
    assert closed.status_code == 409
    with sessions() as session:
        assert session.get_one(Conversation, convo.id).snoozed_until is None


def test_tomorrow_without_hours_is_nine_in_the_inbox_zone(factory):
    inbox = factory.inbox(name="Anytime", timezone="Europe/Paris")
    convo = factory.conversation(channel=factory.channel(default_inbox=inbox))
    now = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    when = snooze.tomorrow_morning(convo, now).astimezone(ZoneInfo("Europe/Paris"))
    assert (when.date().isoformat(), when.hour, when.minute) == ("2026-12-02", 9, 0)


async def test_send_later_through_the_api(api_client, factory, fake_temporal, sessions):
    convo = factory.conversation()
    at = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    response = await api_client.post(
        f"/api/v1/conversations/{convo.id}/messages",
        json={"body": "See you Friday", "send_at": at.isoformat()},
    )
    assert response.status_code == 202
    assert response.json()["status"] == "held"
    assert datetime.fromisoformat(response.json()["held_until"]) == at
    (call,) = fake_temporal.calls
    assert call.signal == "message_held"
    past = await api_client.post(
        f"/api/v1/conversations/{convo.id}/messages",
        json={"body": "x", "send_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()},
    )
    assert past.status_code == 422 and past.json()["detail"][0]["loc"] == ["body", "send_at"]
