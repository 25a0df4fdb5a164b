"""FastAPI dependencies, as ``Annotated`` aliases used by every router."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from temporalio.client import Client

from api.state import AppState
from inbox.settings import Settings


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.inbox
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_settings(state: StateDep) -> Settings:
    return state.settings


def get_session(state: StateDep) -> Iterator[Session]:
    """One session per request; routers commit explicitly, anything left is rolled back."""
    with state.sessions() as session:
        yield session


async def get_temporal(state: StateDep) -> Client:
    return await state.temporal.get()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
