"""Static checks of the production stack (no Docker engine runs in CI): the compose file is
valid against the Compose Specification's JSON Schema, names the services the design asks for
in the order they must start, and every variable it sets is one the app reads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from inbox.cli.worker import HEARTBEAT_FILE, stop_bound
from inbox.heartbeat import INTERVAL_SECONDS
from inbox.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# Vendored, not fetched: see tests/schemas/README.md for its source package and version.
COMPOSE_SCHEMA = Path(__file__).parent / "schemas" / "compose-spec.json"
# Images their publishers no longer build: temporalio/auto-setup (last built December 2025,
# replaced by temporalio/server plus temporalio/admin-tools), and the tools Temporal retired.
DEPRECATED_IMAGES = ("temporalio/auto-setup", "temporalio/tctl", "temporalio/web")
# Where temporal-sql-tool's PostgreSQL schemas live inside temporalio/admin-tools.
SCHEMA_DIRS = (
    "/etc/temporal/schema/postgresql/v12/temporal/versioned",
    "/etc/temporal/schema/postgresql/v12/visibility/versioned",
)
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


def _one_shot(service: dict[str, Any]) -> bool:
    """A service that runs to completion (restart "no") rather than serving."""
    return str(service.get("restart", "no")) == "no"


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    value = service.get("depends_on", {})
    if isinstance(value, list):  # the short form: started, no condition
        return {name: {"condition": "service_started"} for name in value}
    return dict(value)


def _image(compose: dict[str, Any], name: str) -> str:
    return str(compose["services"][name].get("image", ""))


def test_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    errors = sorted(Draft202012Validator(schema).iter_errors(compose), key=lambda e: e.path)
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_the_schema_check_catches_a_broken_file(compose: dict[str, Any]) -> None:
    validator = Draft202012Validator(json.loads(COMPOSE_SCHEMA.read_text()))
    broken = {**compose, "services": {**compose["services"], "web": {"image": "x", "replica": 2}}}
    assert not validator.is_valid(broken)
    condition = {"setup": {"condition": "service_finished"}}
    broken = {**compose, "services": {"web": {"image": "x", "depends_on": condition}}}
    assert not validator.is_valid(broken)


def test_no_deprecated_image(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert not str(service.get("image", "")).startswith(DEPRECATED_IMAGES), name


def test_every_dependency_exists_and_waits_on_a_condition(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for target, spec in _depends_on(service).items():
            assert target in services, f"{name} depends on missing service {target}"
            condition = spec.get("condition")
            if _one_shot(services[target]):
                assert condition == "service_completed_successfully", (name, target)
            else:
                # Waiting for a container to merely start races its readiness.
                assert condition == "service_healthy", (name, target)


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if _one_shot(service):
            continue
        check = service.get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), name
        assert check["test"] not in (["CMD-SHELL", "true"], ["CMD", "true"]), name


def test_versions_are_pinned_in_one_place(compose: dict[str, Any]) -> None:
    # Every image of a published service comes from the x-versions anchors at the top ...
    pinned = set(compose["x-versions"])
    for name, service in compose["services"].items():
        if "build" not in service:
            assert service["image"] in pinned, name
    # ... and each tag is a variable with a default (an operator overrides it in .env).
    for image in pinned:
        assert re.fullmatch(r"[a-z0-9./-]+:\$\{[A-Z_]+:-[\w.-]+\}", image), image
    # Server and admin-tools must match: the schema tool ships the server's schema version.
    assert (
        _image(compose, "temporal").split(":", 1)[1]
        == (_image(compose, "temporal-schema").split(":", 1)[1])
    )


def test_temporal_schema_is_made_by_admin_tools_before_the_server(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    schema = services["temporal-schema"]
    assert schema["image"].startswith("temporalio/admin-tools:")
    assert _one_shot(schema)
    script = " ".join(schema["entrypoint"] + schema["command"])
    for step in ("create-database", "setup-schema -v 0.0", "update-schema -d"):
        assert step in script, step
    assert "--plugin postgres12" in script
    for directory in SCHEMA_DIRS:
        # The loop builds each path from $SCHEMA and the database's folder name.
        head, _, kind = directory.removesuffix("/versioned").rpartition("/")
        assert f"SCHEMA={head}" in script and kind in script
    for database in ("temporal", "temporal_visibility"):
        assert f"{database}:" in script
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert _depends_on(services["temporal"]) == {
        "temporal-schema": {"condition": "service_completed_successfully"}
    }
    assert _depends_on(schema)["temporal-db"]["condition"] == "service_healthy"
    # The namespace and search attributes come after the server, the UI after them.
    assert "inbox temporal-setup" in " ".join(services["setup"]["command"])
    assert _depends_on(services["setup"])["temporal"]["condition"] == "service_healthy"
    assert _depends_on(services["temporal-ui"])["setup"]["condition"] == (
        "service_completed_successfully"
    )


def test_web_health_is_readiness(compose: dict[str, Any]) -> None:
    web = compose["services"]["web"]
    assert "/readyz" in " ".join(web["healthcheck"]["test"])
    assert _depends_on(compose["services"]["proxy"])["web"]["condition"] == "service_healthy"


def _app_env(compose: dict[str, Any], service: str) -> dict[str, str]:
    return {k: str(v) for k, v in compose["services"][service]["environment"].items()}


def test_services_of_the_production_design(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"temporal", "temporal-db", "temporal-ui", "db", "setup", "web", "worker"} <= set(
        services
    )
    assert services["temporal"]["image"].startswith("temporalio/server:")
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


def test_worker_health_reads_the_file_the_worker_beats(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    heartbeat = f"{_app_env(compose, 'worker')['INBOX_DATA_DIR']}/{HEARTBEAT_FILE}"
    test = worker["healthcheck"]["test"]
    assert test[:4] == ["CMD", "python", "-m", "inbox.heartbeat"]
    assert test[4] == heartbeat
    assert float(test[5]) >= 3 * INTERVAL_SECONDS  # a slow beat is not a dead worker
    # The stop's own bound (graceful period + margin) fits in compose's grace before SIGKILL.
    grace = int(worker["stop_grace_period"].removesuffix("s"))
    assert stop_bound(Settings()) < grace
