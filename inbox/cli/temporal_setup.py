"""Preparing a Temporal cluster for the app (production set-up): the namespace, then the
conversation search attributes in it.

``inbox dev`` gets both from the dev server's own flags; a real cluster (its schema made by
``temporal-sql-tool``) starts with no namespace at all, and ``inbox temporal-setup`` registers
the configured one and adds the attributes (docker-compose runs it before the web and worker
start). Both steps are idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from inbox.contracts import SEARCH_ATTRIBUTES
from inbox.settings import Settings

log = logging.getLogger(__name__)

_TYPES = {
    "Text": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "KeywordList": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}


async def connect_with_retry(settings: Settings, timeout: float) -> Client:
    """A client, retrying while the cluster starts; raises the last error after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await Client.connect(
                settings.temporal_address, namespace=settings.temporal_namespace
            )
        except Exception:
            if time.monotonic() >= deadline:
                raise
            log.info("waiting for Temporal at %s", settings.temporal_address)
            await asyncio.sleep(1)


# How long Temporal keeps a closed workflow's history. A conversation's workflow closes after its
# quiet period and starts again on the next message (its state is in the app database), so this
# only bounds how far back an operator can read finished runs in the UI.
NAMESPACE_RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class SetupResult:
    namespace_created: bool
    attributes_added: list[str]


async def ensure_namespace(client: Client, namespace: str) -> bool:
    """Register ``namespace`` if the cluster does not have it; returns whether it did."""
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )
        return False
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
    retention = Duration()
    retention.FromTimedelta(NAMESPACE_RETENTION)
    try:
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace=namespace, workflow_execution_retention_period=retention
            )
        )
    except RPCError as err:  # another set-up run registered it first
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise
        return False
    return True


async def register_search_attributes(client: Client, namespace: str) -> list[str]:
    """Add the conversation search attributes missing from ``namespace``; returns their names.

    Raises ValueError if one exists with another type (a query on it would silently break).
    """
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing: dict[str, IndexedValueType.ValueType] = {}
    for name, kind in SEARCH_ATTRIBUTES.items():
        wanted = _TYPES[kind]
        have = existing.custom_attributes.get(name)
        if have is None:
            missing[name] = wanted
        elif have != wanted:
            raise ValueError(
                f"search attribute {name} exists in namespace {namespace!r} with type "
                f"{IndexedValueType.Name(have)}, but the workflows need {kind}"
            )
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)


async def setup_temporal(settings: Settings, timeout: float = 120.0) -> SetupResult:
    """Wait for the cluster, register the namespace if missing, then add the search attributes
    it lacks."""
    deadline = time.monotonic() + timeout
    client = await connect_with_retry(settings, timeout)
    namespace = settings.temporal_namespace
    created = await ensure_namespace(client, namespace)
    while True:
        try:
            added = await register_search_attributes(client, namespace)
            return SetupResult(namespace_created=created, attributes_added=added)
        except RPCError as exc:
            # A namespace just registered reaches every frontend's cache within seconds.
            if exc.status != RPCStatusCode.NOT_FOUND or time.monotonic() >= deadline:
                raise
            log.info("waiting for namespace %r to become visible", namespace)
            await asyncio.sleep(1)
