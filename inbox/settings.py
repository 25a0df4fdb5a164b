"""One place for configuration: environment variables prefixed ``INBOX_`` (plus Twilio's own)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Secrets that ship with the code so the embedded default runs with no set-up. Production refuses
# them: a deployment that forgot to set a secret must fail at start, not run with a public one.
DEV_SECRET_KEY = "dev-secret-key-change-me"
DEV_TWILIO_AUTH_TOKEN = "dev-simulator-auth-token"
DEV_TWILIO_ACCOUNT_SID = "AC00000000000000000000000000000000"


class Settings(BaseSettings):
    """Runtime configuration. Every field maps to ``INBOX_<NAME>`` unless it says otherwise."""

    model_config = SettingsConfigDict(env_prefix="INBOX_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path(".inbox-data")
    database_url: str = ""
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    sms_provider: Literal["simulator", "twilio"] = "simulator"
    public_url: str = "http://127.0.0.1:8000"
    rules_dir: Path = Path("rules")
    secret_key: str = DEV_SECRET_KEY
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    # Processes `inbox web` runs (uvicorn workers); the outbox relay and the live feed work
    # across processes, so any number is safe.
    web_workers: int = Field(default=1, ge=1)
    # Twilio caps a message body at 1,600 characters and a webhook is a few KiB; anything near
    # this limit is not a real provider request.
    max_webhook_bytes: int = 64 * 1024
    # How often the outbox relay retries signals that could not reach Temporal.
    relay_interval_seconds: float = 2.0
    # Conversation workflows the worker keeps in memory between events; one that was evicted
    # replays its history on its next event (tens of ms of CPU). About 0.1 MiB each.
    worker_max_cached_workflows: int = Field(default=2000, ge=0)
    # On SIGTERM the worker stops polling and gives running activities this long to finish
    # before cancelling them; the whole stop is bounded a little above it (inbox/cli/worker.py)
    # and exits with code 1 past that bound.
    worker_graceful_shutdown_seconds: float = Field(default=10.0, ge=0)
    # The loop cap: automated SMS one conversation may send in any hour. A rule whose sends
    # would pass it is skipped (logged and recorded as a rule run).
    automation_sends_per_hour: int = Field(default=10, ge=0)
    # Rule runs (and the actions' idempotency records) older than this are deleted by the
    # worker: every evaluation, skipped ones included, writes a run.
    automation_run_retention_days: int = Field(default=90, ge=1)
    # Web sign-in sessions (kept in the app database): one unused this long is signed out, and
    # none lasts longer than the maximum, however active.
    session_idle_minutes: int = Field(default=12 * 60, ge=1)
    session_max_hours: int = Field(default=7 * 24, ge=1)
    # Observability (docs/operations.md): a bearer token /metrics then requires (empty: public);
    # the worker's metrics ports (0: off), ours and the Temporal SDK's; the log format.
    metrics_token: str = ""
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    temporal_metrics_port: int = Field(default=0, ge=0, le=65535)
    log_format: Literal["text", "json"] = "text"
    twilio_account_sid: str = Field(
        default=DEV_TWILIO_ACCOUNT_SID,
        validation_alias=AliasChoices("TWILIO_ACCOUNT_SID", "INBOX_TWILIO_ACCOUNT_SID"),
    )
    twilio_auth_token: str = Field(
        default=DEV_TWILIO_AUTH_TOKEN,
        validation_alias=AliasChoices("TWILIO_AUTH_TOKEN", "INBOX_TWILIO_AUTH_TOKEN"),
    )
    # Where the Twilio REST API is reached: a regional edge (https://api.dublin.ie1.twilio.com)
    # or a stand-in for tests and drills.
    twilio_base_url: str = "https://api.twilio.com"

    @model_validator(mode="after")
    def _defaults_and_production_guard(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'inbox.db').as_posix()}"
        if self.environment == "production":
            placeholders = {
                "INBOX_SECRET_KEY": self.secret_key == DEV_SECRET_KEY,
                "TWILIO_AUTH_TOKEN": self.sms_provider == "twilio"
                and self.twilio_auth_token == DEV_TWILIO_AUTH_TOKEN,
            }
            bad = [name for name, is_placeholder in placeholders.items() if is_placeholder]
            if bad:
                raise ValueError(
                    f"production refuses the development placeholder for {', '.join(bad)}; "
                    "set a real secret"
                )
            if self.sms_provider == "simulator":
                raise ValueError("production must use INBOX_SMS_PROVIDER=twilio, not the simulator")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
