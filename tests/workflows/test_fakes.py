"""The workflow tests' stand-in activities are the worker's activities: same names, same input
and result types. A fake that drifted from its activity would let a test pass that production
fails."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, get_type_hints

from sqlalchemy.orm import sessionmaker

from activities.automation import AutomationActivities
from activities.sms import SmsActivities
from activities.store import StoreActivities
from inbox.cli.worker import activities
from inbox.providers import SimulatorProvider
from inbox.settings import Settings
from tests.workflows.fakes import FakeAutomation, FakeSms, FakeStore, fake_activities


def _signature(function: Callable[..., Any]) -> tuple[str, tuple[Any, ...], Any]:
    definition = function.__temporal_activity_definition  # type: ignore[attr-defined]
    hints = get_type_hints(function)
    parameters = tuple(hints[name] for name in inspect.signature(function).parameters)
    return definition.name, parameters, hints["return"]


def test_every_fake_is_a_real_activity_with_its_types() -> None:
    sessions = sessionmaker()
    settings = Settings()
    real = activities(
        StoreActivities(sessions, settings),
        SmsActivities(sessions, SimulatorProvider(sessions)),
        AutomationActivities(sessions, settings),
    )
    fakes = fake_activities(FakeStore(), FakeSms(), FakeAutomation())
    assert sorted(map(_signature, fakes), key=str) == sorted(map(_signature, real), key=str)
