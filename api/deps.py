"""FastAPI dependencies, as ``Annotated`` aliases used by every router.

The ones that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency in a worker
thread, and each such hop costs about 0.3 ms of a request on this project's machine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client

from api.state import AppState
from inbox import relay
from inbox.settings import Settings


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.inbox
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_settings(state: StateDep) -> Settings:
    return state.settings


async def get_session(state: StateDep) -> AsyncIterator[Session]:
    """One session per request; routers commit explicitly, anything left is rolled back.

    Opening a session does no I/O (it connects on first use). Closing one that still holds a
    connection hands it back to the pool, which rolls it back: I/O, so in a worker thread."""
    session = state.sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]


async def get_temporal(state: StateDep) -> Client:
    return await state.temporal.get()


class Commit:
    """Commits the request's transaction; the workflow signals it stored go to Temporal once the
    response is sent. The one way the webhooks, the JSON API and the web inbox commit a change:
    no request waits on Temporal (if it is down, the request still succeeds and the relay's
    background pass delivers the signals when it is back)."""

    def __init__(self, state: AppState, session: Session, background: BackgroundTasks) -> None:
        self._state = state
        self._session = session
        self._background = background

    def __call__(self) -> None:
        outgoing = relay.commit(self._session)
        if outgoing:
            self._background.add_task(self._state.relay.send, outgoing)


async def get_commit(state: StateDep, session: SessionDep, background: BackgroundTasks) -> Commit:
    return Commit(state, session, background)


SettingsDep = Annotated[Settings, Depends(get_settings)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
CommitDep = Annotated[Commit, Depends(get_commit)]
