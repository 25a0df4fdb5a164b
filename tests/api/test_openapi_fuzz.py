"""A bounded schemathesis run over ``/openapi.json``: every operation gets generated requests
(valid and invalid), sent with a read-write API key, and no answer may be a 5xx or break the
schema it documents. ``.ci/run`` runs this file as a step of its own (marker ``fuzz``)."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from inbox.services.api_keys import create_api_key

pytestmark = pytest.mark.fuzz

# Examples per operation: enough to reach the limits of every field, small enough for CI.
EXAMPLES = 40
# Readiness answers 503 when Temporal does not answer: that is its contract, and this run has
# no Temporal (tests/api/test_readyz.py checks both of its answers).
NOT_FUZZED = {"/readyz"}


@pytest.fixture
def key(sessions) -> str:
    with sessions() as session:
        _, plain = create_api_key(session, name="fuzz")
        session.commit()
    return plain


def test_no_operation_answers_5xx_or_breaks_its_schema(app: FastAPI, factory, key):
    factory.conversation()  # something for the generated ids to find now and then
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {key}"}
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    failures: dict[str, str] = {}
    operations = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if operation.path not in NOT_FUZZED
    ]
    assert len(operations) >= 12, "the schema lost its operations"
    for operation in operations:

        @given(case=operation.as_strategy())
        # Derandomised: the same examples on every run of the same schema, so CI cannot land or
        # fail on luck; the property test of the webhook (tests/api) keeps exploring.
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            case.call_and_validate(headers=headers, checks=checks)

        try:
            run()
        except Exception as exc:  # one operation's failure must not hide the others'
            failures[operation.label] = str(exc)[:3000]
    assert failures == {}, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
