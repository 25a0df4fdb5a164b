"""`inbox temporal-setup` registers the namespace and search attributes a real cluster lacks."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from inbox.cli import main as cli
from inbox.contracts import SEARCH_ATTRIBUTES
from inbox.settings import get_settings
from tests.cli.conftest import free_port

pytestmark = pytest.mark.devserver

TEMPORAL = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")


def _start_dev_server(extra: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [TEMPORAL, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
         "--log-level", "error", *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return process, f"127.0.0.1:{port}"


class Cluster:
    """Bare dev servers (no search attributes unless asked), stopped by the fixture."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self._processes: list[subprocess.Popen[bytes]] = []

    def start(self, *flags: str) -> str:
        """Start one and point INBOX_TEMPORAL_ADDRESS at it; returns its address."""
        process, address = _start_dev_server(list(flags))
        self._processes.append(process)
        self._monkeypatch.setenv("INBOX_TEMPORAL_ADDRESS", address)
        get_settings.cache_clear()
        return address

    def stop(self) -> None:
        for process in self._processes:
            process.terminate()
            process.wait(timeout=20)
        get_settings.cache_clear()


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    cluster = Cluster(monkeypatch)
    yield cluster
    cluster.stop()


async def _custom_attributes(address: str, namespace: str = "default") -> dict[str, int]:
    client = await Client.connect(address)
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    return dict(response.custom_attributes)


def test_registers_missing_attributes_once(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    address = cluster.start()

    assert cli.main(["temporal-setup", "--timeout", "30"]) == 0
    assert "search attributes added: " in capsys.readouterr().out
    assert set(SEARCH_ATTRIBUTES) <= set(asyncio.run(_custom_attributes(address)))

    assert cli.main(["temporal-setup", "--timeout", "30"]) == 0
    assert "already registered" in capsys.readouterr().out


def test_attribute_with_the_wrong_type_is_refused(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    cluster.start("--search-attribute", "ConversationStatus=Int")

    assert cli.main(["temporal-setup", "--timeout", "30"]) == 1
    err = capsys.readouterr().err
    assert "ConversationStatus" in err
    assert "INDEXED_VALUE_TYPE_INT" in err
    assert "Keyword" in err


def test_unreachable_cluster_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INBOX_TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    try:
        assert cli.main(["temporal-setup", "--timeout", "0"]) == 1
    finally:
        get_settings.cache_clear()
    assert "cannot reach Temporal" in capsys.readouterr().err


def test_registers_a_missing_namespace_then_its_attributes(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cluster whose schema temporal-sql-tool made has no namespace: set-up registers it."""
    address = cluster.start()
    monkeypatch.setenv("INBOX_TEMPORAL_NAMESPACE", "inbox-prod")
    get_settings.cache_clear()

    assert cli.main(["temporal-setup", "--timeout", "60"]) == 0
    out = capsys.readouterr().out
    assert "namespace registered: inbox-prod" in out
    assert "search attributes added: " in out
    attributes = asyncio.run(_custom_attributes(address, "inbox-prod"))
    assert set(SEARCH_ATTRIBUTES) <= set(attributes)

    assert cli.main(["temporal-setup", "--timeout", "30"]) == 0
    out = capsys.readouterr().out
    assert "namespace registered" not in out and "already registered" in out
