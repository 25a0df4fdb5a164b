"""Live updates: one follower per process reads the ``live_events`` feed and fans it out over SSE.

Services write a ``LiveEvent`` row in the same transaction as each change (``inbox.live``). The
follower reads new rows by id (so every process sees every change, in order, whichever process
made it), is woken at once by PostgreSQL ``LISTEN inbox_live`` and otherwise polls, and pushes
named events to each open page that may see the conversation:

- ``list``: the conversation list changed (htmx refetches it, ``hx-trigger="sse:list"``);
- ``conv-<id>``: that conversation changed (its timeline and details refetch);
- ``notify``: an inbound message, rendered as an alert with a View link (``sse-swap="notify"``),
  sent only to users whose notifications are on;
- ``notifications``: the user's own notifications changed (one written for them, or some
  marked read): the bell refetches its count (``hx-trigger="sse:notifications"``);
- ``notification``: one written for this user, rendered as a toast with a View link, unless
  they turned notification toasts off (the notification centre keeps it either way).

Notification events go to their recipient's pages only, whatever inboxes those pages see.

A page passes the last feed id it rendered (``?after=``) so nothing between render and connect is
lost; the follower keeps a short backlog for that. Rows older than ``RETENTION`` are pruned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api.deps import SessionDep
from inbox import metrics
from inbox.live import MESSAGE_CREATED, NOTIFY_CHANNEL
from inbox.models import Contact, Conversation, Direction, LiveEvent, Message, User, utcnow
from inbox.services import sessions, visibility
from inbox.services.notifications import NOTIFICATION_CREATED, NOTIFICATION_READ
from web.auth import SESSION_STATE, CurrentUser, lifetimes
from web.notification_prefs import toasts_enabled
from web.templating import templates

log = logging.getLogger(__name__)

RETENTION = timedelta(hours=1)
PRUNE_EVERY_SECONDS = 300.0
HEARTBEAT_SECONDS = 15.0
BACKLOG = 2000
BATCH = 500
# On PostgreSQL ids come from a sequence and transactions commit in any order: id 11 can be
# visible before id 10. The follower waits this long for a missing id before it takes it for a
# rolled-back one and moves past it.
GAP_GRACE_SECONDS = 5.0


@dataclass
class FeedItem:
    """One row of the feed, with what an alert needs already looked up."""

    id: int
    kind: str
    conversation_id: int | None
    inbox_id: int | None
    assignee_id: int | None
    alert: dict[str, Any] | None = None  # inbound message: contact, preview, conversation id
    recipient_id: int | None = None  # a notification event: the only user it goes to
    toast: dict[str, Any] | None = None  # a notification written: what its toast shows


@dataclass(eq=False)
class Subscriber:
    """One open page."""

    user_id: int
    inbox_ids: frozenset[int] | None  # None: sees every inbox
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))

    def sees(self, item: FeedItem) -> bool:
        if self.inbox_ids is None or item.inbox_id is None:
            return True
        return item.inbox_id in self.inbox_ids or item.assignee_id == self.user_id


def sse_message(event: str, data: str) -> str:
    """Frame one server-sent event (each data line prefixed, as the format requires)."""
    lines = data.splitlines() or [""]
    return f"event: {event}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


class LiveFollower:
    """Follows the feed for one process and fans it out to subscribers."""

    def __init__(
        self, sessions: sessionmaker[Session], database_url: str, *, poll_interval: float = 0.4
    ) -> None:
        self._sessions = sessions
        self._database_url = database_url
        self._is_postgres = make_url(database_url).get_backend_name() == "postgresql"
        self._poll_interval = poll_interval
        self._subscribers: set[Subscriber] = set()
        self._backlog: deque[FeedItem] = deque(maxlen=BACKLOG)
        # Every id up to ``_last_id`` has been handled; ``_seen`` holds handled ids above it
        # (delivered while a lower id was still missing) and ``_gaps`` when each gap was noticed.
        self._last_id = 0
        self._seen: set[int] = set()
        self._gaps: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_prune = 0.0

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, *, after: int | None = None) -> None:
        """Start following (idempotent: the first page to connect starts it, from the feed id
        that page rendered, so nothing between its render and the start is missed)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop and self._tasks:
            return
        self._loop = loop
        self._wake = asyncio.Event()
        latest = await asyncio.to_thread(self._max_id)
        self._last_id = min(after, latest) if after is not None else latest
        self._tasks = [asyncio.create_task(self._follow(), name="live-follower")]
        if self._is_postgres:
            self._tasks.append(asyncio.create_task(self._listen(), name="live-listen"))

    async def stop(self) -> None:
        """Stop following; open streams end."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    @property
    def last_id(self) -> int:
        return self._last_id

    def subscribe(self, subscriber: Subscriber, *, after: int | None = None) -> None:
        """Add a page; replay what it missed since ``after`` (if still in the backlog)."""
        self._subscribers.add(subscriber)
        if after is not None:
            for item in self._backlog:
                if item.id > after:
                    self._deliver(subscriber, item, notify=False)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    def wake(self) -> None:
        """Look for new rows now (a NOTIFY arrived, or a test wants no wait)."""
        self._wake.set()

    # -- reading the feed ------------------------------------------------------------------

    def _max_id(self) -> int:
        with self._sessions() as session:
            return int(session.scalar(select(func.max(LiveEvent.id))) or 0)

    def _read(self, after: int) -> tuple[list[FeedItem], set[int], set[int]]:
        """New rows after ``after``, which subscribed users have message alerts on, and which
        have notification toasts on."""
        with self._sessions() as session:
            rows = list(
                session.scalars(
                    select(LiveEvent)
                    .where(LiveEvent.id > after)
                    .order_by(LiveEvent.id)
                    .limit(BATCH)
                )
            )
            items = [self._item(session, row) for row in rows]
            notify_users: set[int] = set()
            user_ids = {s.user_id for s in self._subscribers}
            if user_ids and any(item.alert for item in items):
                notify_users = set(
                    session.scalars(
                        select(User.id).where(User.id.in_(user_ids), User.notifications_enabled)
                    )
                )
            toast_users: set[int] = set()
            recipients = {item.recipient_id for item in items if item.toast} & user_ids
            if recipients:
                toast_users = {
                    user_id
                    for user_id, preferences in session.execute(
                        select(User.id, User.preferences).where(User.id.in_(recipients))
                    )
                    if toasts_enabled(preferences)
                }
            return items, notify_users, toast_users

    def _item(self, session: Session, row: LiveEvent) -> FeedItem:
        data = row.data or {}
        assignee = data.get("assignee_id")
        item = FeedItem(
            id=row.id,
            kind=row.kind,
            conversation_id=row.conversation_id,
            inbox_id=row.inbox_id,
            assignee_id=assignee if isinstance(assignee, int) else None,
        )
        if row.kind == MESSAGE_CREATED and row.conversation_id is not None:
            item.alert = self._alert(session, row.conversation_id, data.get("message_id"))
        if row.kind in (NOTIFICATION_CREATED, NOTIFICATION_READ):
            recipient = data.get("user_id")
            item.recipient_id = recipient if isinstance(recipient, int) else 0
        if row.kind == NOTIFICATION_CREATED:
            item.toast = {
                "id": data.get("notification_id"),
                "text": str(data.get("text", "")),
                "kind": str(data.get("kind", "")),
                "automation": data.get("automation"),
                "conversation_id": row.conversation_id,
            }
        return item

    def _alert(
        self, session: Session, conversation_id: int, message_id: object
    ) -> dict[str, Any] | None:
        """What the alert shows for an inbound message (None for outbound or hidden ones)."""
        query = select(Message).where(Message.conversation_id == conversation_id)
        if isinstance(message_id, int):
            query = query.where(Message.id == message_id)
        else:
            query = query.order_by(Message.id.desc()).limit(1)
        message = session.scalars(query).first()
        conversation = session.get(Conversation, conversation_id)
        if message is None or conversation is None or message.direction != Direction.INBOUND:
            return None
        if conversation.status == "spam":
            return None  # spam is kept but hidden: no alert
        contact = session.get(Contact, conversation.contact_id)
        name = contact.name if contact and contact.name else message.from_number
        return {
            "conversation_id": conversation_id,
            "assignee_id": conversation.assignee_id,
            "contact": name,
            "preview": message.body[:140],
        }

    async def _follow(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                items, notify_users, toast_users = await asyncio.to_thread(
                    self._read, self._last_id
                )
                fresh = [item for item in items if item.id not in self._seen]
                for item in fresh:
                    self._seen.add(item.id)
                    self._backlog.append(item)
                    for subscriber in list(self._subscribers):
                        self._deliver(
                            subscriber,
                            item,
                            notify=subscriber.user_id in notify_users,
                            toast=subscriber.user_id in toast_users,
                        )
                self._advance(loop.time())
                if loop.time() - self._last_prune > PRUNE_EVERY_SECONDS:
                    self._last_prune = loop.time()
                    await asyncio.to_thread(self._prune)
                if len(items) == BATCH and fresh:
                    continue
            except Exception:  # a database hiccup must not end live updates
                log.exception("live follower pass failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)

    def _advance(self, now: float) -> None:
        """Move ``_last_id`` over every handled id, stopping at a missing one until it shows
        up (a transaction still committing) or ``GAP_GRACE_SECONDS`` pass (rolled back)."""
        nxt = self._last_id + 1
        for handled in sorted(self._seen):
            while nxt < handled:
                noticed = self._gaps.setdefault(nxt, now)
                if now - noticed < GAP_GRACE_SECONDS:
                    break
                nxt += 1
            if nxt < handled:
                break
            nxt = handled + 1
        self._last_id = nxt - 1
        self._seen = {i for i in self._seen if i > self._last_id}
        self._gaps = {i: t for i, t in self._gaps.items() if i > self._last_id}

    def _prune(self) -> None:
        with self._sessions() as session:
            session.execute(delete(LiveEvent).where(LiveEvent.created_at < utcnow() - RETENTION))
            session.commit()

    async def _listen(self) -> None:
        """Wake the follower on every NOTIFY (PostgreSQL only); reconnect after a failure."""
        import psycopg

        dsn = make_url(self._database_url).set(drivername="postgresql")
        conninfo = dsn.render_as_string(hide_password=False)
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    async for _ in conn.notifies():
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("LISTEN %s lost; polling until it reconnects", NOTIFY_CHANNEL)
                await asyncio.sleep(2)

    def _deliver(
        self, subscriber: Subscriber, item: FeedItem, *, notify: bool, toast: bool = False
    ) -> None:
        if item.recipient_id is not None:
            self._put(subscriber, self._notification_frames(subscriber, item, toast=toast))
            return
        if not subscriber.sees(item):
            return
        frames: list[str] = []
        if item.conversation_id is not None:
            frames.append(sse_message("list", str(item.id)))
            frames.append(sse_message(f"conv-{item.conversation_id}", str(item.id)))
        if notify and item.alert is not None:
            html = templates.get_template("partials/alert.html").render(alert=item.alert)
            frames.append(sse_message("notify", html))
        self._put(subscriber, frames)

    @staticmethod
    def _notification_frames(subscriber: Subscriber, item: FeedItem, *, toast: bool) -> list[str]:
        """The bell's refresh and (when wanted) the toast, for the recipient's pages only."""
        if subscriber.user_id != item.recipient_id:
            return []
        frames = [sse_message("notifications", str(item.id))]
        if toast and item.toast is not None:
            html = templates.get_template("partials/notification_toast.html").render(
                notification=item.toast
            )
            frames.append(sse_message("notification", html))
        return frames

    def _put(self, subscriber: Subscriber, frames: list[str]) -> None:
        for frame in frames:
            try:
                subscriber.queue.put_nowait(frame)
            except asyncio.QueueFull:
                # A page that stopped reading: drop it; the browser reconnects and refetches.
                self.unsubscribe(subscriber)
                return


router = APIRouter(tags=["web"])


def follower_for(request: Request) -> LiveFollower:
    follower: LiveFollower = request.app.state.web_live
    return follower


@router.get("/live", include_in_schema=False)
async def live(
    request: Request, user: CurrentUser, session: SessionDep, after: int | None = None
) -> StreamingResponse:
    """The server-sent event stream of one page."""
    follower = follower_for(request)
    await follower.start(after=after)
    scope = visibility.scope_for_user(session, user)
    subscriber = Subscriber(user_id=user.id, inbox_ids=scope.inbox_ids)
    session.close()  # a stream lives for hours: do not hold a connection
    follower.subscribe(subscriber, after=after)
    token_hash = str(getattr(request.state, SESSION_STATE, ""))
    state = request.app.state.inbox

    def session_alive() -> bool:
        with state.sessions() as check:
            return sessions.still_valid(check, token_hash, lifetimes(state.settings))

    async def stream() -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        checked = loop.time()
        metrics.SSE_CONNECTIONS.inc()
        try:
            yield ": connected\n\n"
            while True:
                # A stream outlives the request that opened it: once its session ends (sign
                # out, deactivation), it must stop too, within a heartbeat.
                if loop.time() - checked >= HEARTBEAT_SECONDS:
                    checked = loop.time()
                    if not await asyncio.to_thread(session_alive):
                        return
                try:
                    yield await asyncio.wait_for(subscriber.queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": ping\n\n"
        finally:
            metrics.SSE_CONNECTIONS.dec()
            follower.unsubscribe(subscriber)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
