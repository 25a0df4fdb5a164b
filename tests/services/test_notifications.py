"""The notification service: kinds, newest-first pages, unread counts, marking read (and the
live events that refresh the bell), and what an API key's inbox scope may read."""

from __future__ import annotations

from sqlalchemy import select, text

from inbox import migrations
from inbox.db import make_engine
from inbox.models import LiveEvent, Notification, NotificationKind
from inbox.services import notifications, visibility
from tests.databases import fresh_database


def _notes(session, user, count, conversation=None, **kw):
    made = [
        notifications.notify(session, user=user, text=f"n{i}", conversation=conversation, **kw)
        for i in range(count)
    ]
    session.commit()
    return made


def test_kind_follows_the_source(session, factory) -> None:
    user = factory.user()
    by_rule = notifications.notify(session, user=user, text="a", automation="slow-reply")
    other = notifications.notify(session, user=user, text="b")
    mention = notifications.notify(session, user=user, text="c", kind=NotificationKind.MENTION)
    session.commit()
    assert (by_rule.kind, other.kind, mention.kind) == ("rule", "other", "mention")
    published = session.scalars(
        select(LiveEvent).where(LiveEvent.kind == notifications.NOTIFICATION_CREATED)
    ).all()
    assert [event.data["kind"] for event in published] == ["rule", "other", "mention"]
    assert published[0].data["automation"] == "slow-reply"
    assert {event.data["user_id"] for event in published} == {user.id}


def test_pages_newest_first_with_unread_filter(session, factory) -> None:
    user, someone = factory.user(), factory.user()
    made = _notes(session, user, 5)
    _notes(session, someone, 2)
    first = notifications.page(session, user_id=user.id, limit=2)
    assert [n.text for n in first.items] == ["n4", "n3"]
    second = notifications.page(session, user_id=user.id, limit=2, before=first.next_before)
    assert [n.text for n in second.items] == ["n2", "n1"]
    last = notifications.page(session, user_id=user.id, limit=2, before=second.next_before)
    assert [n.text for n in last.items] == ["n0"] and last.next_before is None

    assert notifications.mark_read(session, made[3]) is True
    assert notifications.mark_read(session, made[3]) is False  # already read
    session.commit()
    unread = notifications.page(session, user_id=user.id, unread_only=True)
    assert [n.text for n in unread.items] == ["n4", "n2", "n1", "n0"]
    assert notifications.unread_count(session, user.id) == 4
    assert notifications.unread_count(session, someone.id) == 2


def test_mark_all_read_is_per_user_and_refreshes_their_bell(session, factory) -> None:
    user, someone = factory.user(), factory.user()
    _notes(session, user, 3)
    _notes(session, someone, 1)
    assert notifications.mark_all_read(session, user_id=user.id) == 3
    session.commit()
    assert notifications.unread_count(session, user.id) == 0
    assert notifications.unread_count(session, someone.id) == 1
    assert all(n.read_at for n in session.scalars(select(Notification).where(
        Notification.user_id == user.id
    )))  # fmt: skip
    read_events = session.scalars(
        select(LiveEvent).where(LiveEvent.kind == notifications.NOTIFICATION_READ)
    ).all()
    assert [event.data for event in read_events] == [{"user_id": user.id}]
    assert notifications.mark_all_read(session, user_id=user.id) == 0  # nothing left: no event


def test_a_key_scope_reads_only_its_inboxes(session, factory) -> None:
    user = factory.user()
    ours, theirs = factory.channel(), factory.channel()
    in_ours = factory.conversation(channel=ours)
    in_theirs = factory.conversation(channel=theirs)
    mine = _notes(session, user, 1, conversation=in_ours)[0]
    other = _notes(session, user, 1, conversation=in_theirs)[0]
    loose = _notes(session, user, 1)[0]  # tied to no conversation
    scope = visibility.Scope(inbox_ids=frozenset({ours.default_inbox_id}))
    seen = notifications.page(session, user_id=None, scope=scope)
    assert [n.id for n in seen.items] == [mine.id]
    everything = notifications.page(session, user_id=None)
    assert [n.id for n in everything.items] == [loose.id, other.id, mine.id]
    assert notifications.get(session, other.id, user_id=None, scope=scope) is None
    assert notifications.get(session, mine.id, user_id=user.id + 1) is None  # not theirs
    assert notifications.mark_all_read(session, user_id=user.id, scope=scope) == 1
    session.commit()
    assert notifications.unread_count(session, user.id) == 2
    nothing = visibility.Scope(inbox_ids=frozenset())
    assert notifications.page(session, user_id=None, scope=nothing).items == []


def test_the_migration_classifies_existing_notifications(tmp_path) -> None:
    with fresh_database(tmp_path) as url:
        migrations.upgrade(url, "0007_last_response_at")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (id, email, name, role, is_active, notifications_enabled,"
                    " preferences, created_at) VALUES (1, 'a@example.com', 'A', 'agent', true,"
                    " true, '{}', CURRENT_TIMESTAMP)"
                )
            )
            for text_, automation in (("by a rule", "'slow-reply'"), ("opt-out", "NULL")):
                conn.execute(
                    text(
                        "INSERT INTO notifications (user_id, text, automation, created_at)"
                        f" VALUES (1, :t, {automation}, CURRENT_TIMESTAMP)"
                    ),
                    {"t": text_},
                )
        migrations.upgrade(url)
        with engine.connect() as conn:
            kinds = dict(conn.execute(text("SELECT text, kind FROM notifications")).all())
        engine.dispose()
    assert kinds == {"by a rule": "rule", "opt-out": "possible_opt_out"}
