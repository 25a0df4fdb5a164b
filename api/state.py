"""What one web process holds for its whole life: settings, database, Temporal, SMS provider."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from inbox.relay import Relay
from inbox.settings import Settings
from inbox.temporal import TemporalConnector


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    temporal: TemporalConnector
    relay: Relay
