"""Static checks of the production stack (no Docker engine runs in CI): the compose file names
the services the design asks for, and every variable it sets is one the app reads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from inbox.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# The configuration names PRODUCT.md promises.
PRODUCT_VARIABLES = {
    "INBOX_DATABASE_URL",
    "INBOX_TEMPORAL_ADDRESS",
    "INBOX_SMS_PROVIDER",
    "INBOX_PUBLIC_URL",
    "INBOX_RULES_DIR",
    "INBOX_DATA_DIR",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
}


def _variables_by_field() -> dict[str, set[str]]:
    """The environment variables each settings field is read from (the app's Settings and the
    automation engine's own)."""
    variables = {}
    for model in (Settings,):
        prefix = str(model.model_config.get("env_prefix", ""))
        for name, field in model.model_fields.items():
            choices = getattr(field.validation_alias, "choices", None)
            variables[f"{prefix}{name}"] = (
                {str(c) for c in choices} if choices else {f"{prefix}{name}".upper()}
            )
    return variables


def _setting_names() -> set[str]:
    """Every environment variable Settings reads."""
    return set().union(*_variables_by_field().values())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())
    return data


def _app_env(compose: dict[str, Any], service: str) -> dict[str, str]:
    return {k: str(v) for k, v in compose["services"][service]["environment"].items()}


def test_services_of_the_production_design(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"temporal", "temporal-db", "temporal-ui", "db", "setup", "web", "worker"} <= set(
        services
    )
    assert services["temporal"]["image"].startswith(("temporalio/auto-setup", "temporalio/server"))
    assert services["temporal-ui"]["image"].startswith("temporalio/ui")
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert services["db"]["image"].startswith("postgres")
    # Web and worker are the same image, scaled independently.
    for role in ("web", "worker", "setup"):
        assert services[role]["build"] == "."
    assert services["web"]["command"] == ["inbox", "web"]
    assert services["worker"]["command"] == ["inbox", "worker"]
    assert "replicas" in services["web"]["deploy"]
    assert "replicas" in services["worker"]["deploy"]
    assert "inbox migrate" in " ".join(services["setup"]["command"])
    for role in ("web", "worker"):
        assert services[role]["depends_on"]["setup"]["condition"] == (
            "service_completed_successfully"
        )


@pytest.mark.parametrize("service", ["web", "worker", "setup"])
def test_app_environment_uses_only_real_settings(compose: dict[str, Any], service: str) -> None:
    env = _app_env(compose, service)
    app_names = {name for name in env if name.startswith(("INBOX_", "TWILIO_"))}
    assert app_names <= _setting_names(), app_names - _setting_names()
    assert app_names >= PRODUCT_VARIABLES
    assert env["INBOX_ENVIRONMENT"] == "production"
    assert env["INBOX_SMS_PROVIDER"] == "twilio"
    assert env["INBOX_DATABASE_URL"].startswith("postgresql://")
    assert env["INBOX_DATABASE_URL"].split("@", 1)[1].startswith("db:5432/")
    assert env["INBOX_TEMPORAL_ADDRESS"] == "temporal:7233"
    # Secrets must be supplied: compose refuses to start without them (${VAR:?message}).
    for secret in ("INBOX_SECRET_KEY", "TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID"):
        assert re.fullmatch(r"\$\{" + secret + r":\?[^}]+\}", env[secret]), secret


def test_production_settings_accept_the_compose_environment(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _app_env(compose, "web").items():
        if name.startswith(("INBOX_", "TWILIO_")):
            # What an operator fills in for ${VAR:?...} / ${VAR:-default}.
            monkeypatch.setenv(name, re.sub(r"\$\{[^}]+\}", "filled-in", value))
    settings = Settings()
    assert settings.environment == "production"
    assert settings.sms_provider == "twilio"
    assert settings.twilio_auth_token == "filled-in"


def test_dockerfile_runs_the_inbox_command() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["inbox", "web"]' in dockerfile
    for name in re.findall(r"\b(INBOX_[A-Z_]+)=", dockerfile):
        assert name in _setting_names(), name


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `((?:INBOX|TWILIO)_[A-Z_]+)`", readme, flags=re.MULTILINE))
    assert documented <= _setting_names(), documented - _setting_names()
    missing = [f for f, names in _variables_by_field().items() if not names & documented]
    assert missing == [], "settings missing from README's configuration table"
