"""Automation settings: environment variables prefixed ``INBOX_AUTOMATION_``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AutomationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INBOX_AUTOMATION_", extra="ignore")

    # The loop cap: automated SMS one conversation may send in any hour. A rule whose sends
    # would pass it is skipped (logged and recorded as a rule run).
    sends_per_hour: int = Field(default=10, ge=0)
    # Rule runs (and the actions' idempotency records) older than this are deleted by the
    # worker: every evaluation, skipped ones included, writes a run.
    run_retention_days: int = Field(default=90, ge=1)
