"""OpenTelemetry tracing, off unless the standard ``OTEL_*`` variables turn it on.

On when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``) or an OTLP endpoint
is set (``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``); off with
``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none``. The exporter reads its own
variables (endpoint, headers, protocol http/protobuf); ``OTEL_SERVICE_NAME`` names the process
(default ``inbox-web`` / ``inbox-worker``).

One trace follows an inbound text: the webhook's request span (FastAPI instrumentation), the
signal-with-start (Temporal's client interceptor), the workflow run and its activities
(``temporalio.contrib.opentelemetry.TracingInterceptor`` on the worker), and the provider's send
(``sms.send``, activities/sms.py). A signal the outbox relay delivers later, after Temporal was
down, starts a trace of its own.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.contrib.opentelemetry import TracingInterceptor

tracer = trace.get_tracer("inbox")
_configured = False


def wanted() -> bool:
    """Whether the environment asks for traces."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = os.environ.get("OTEL_TRACES_EXPORTER")
    if exporter is not None:
        return exporter.strip().lower() not in ("", "none")
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def _exporter() -> SpanExporter:
    name = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")[0].strip().lower()
    if name == "console":
        return ConsoleSpanExporter()
    if name != "otlp":
        raise ValueError(f"OTEL_TRACES_EXPORTER={name!r}: this build exports otlp or console")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def configure(service: str, processor: SpanProcessor | None = None) -> bool:
    """Install the process's tracer provider if traces are wanted (or ``processor`` is given:
    the tests' in-memory exporter); True when tracing is on. Once per process."""
    global _configured
    if _configured:
        return True
    if processor is None and not wanted():
        return False
    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(processor or BatchSpanProcessor(_exporter()))
    trace.set_tracer_provider(provider)
    _configured = True
    return True


def enabled() -> bool:
    return _configured


def flush() -> None:
    """Export the spans still batched (a process about to stop would lose them)."""
    provider = trace.get_tracer_provider()
    if _configured and isinstance(provider, TracerProvider):
        provider.force_flush(timeout_millis=5000)


def interceptors() -> list[Any]:
    """The Temporal client interceptors (which the worker built on the client also runs)."""
    return [TracingInterceptor()] if _configured else []


def instrument(app: FastAPI) -> None:
    """Give every request a server span (continuing a caller's ``traceparent``)."""
    if _configured:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,metrics")
