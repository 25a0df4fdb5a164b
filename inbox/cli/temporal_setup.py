"""Registering the conversation search attributes on a Temporal cluster (production set-up).

``inbox dev`` registers them with the dev server's own flags; a real cluster needs them added
once per namespace, which ``inbox temporal-setup`` does (docker-compose runs it before the web
and worker start).
"""

from __future__ import annotations

import asyncio
import logging
import time

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client

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


async def setup_temporal(settings: Settings, timeout: float = 120.0) -> list[str]:
    """Wait for the cluster, then register the search attributes; returns those added."""
    client = await connect_with_retry(settings, timeout)
    return await register_search_attributes(client, settings.temporal_namespace)
