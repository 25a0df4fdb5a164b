"""The worker's metrics: ours (rule runs, sends, a wait's lateness) on one port and the Temporal
SDK's own (its runtime's Prometheus exporter) on another, scraped over HTTP while the real worker
runs a conversation on the time-skipping server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inbox import metrics
from inbox.cli.worker import DB_THREADS, SEND_THREADS
from inbox.models import RuleRun
from inbox.settings import Settings
from tests.factories import Factory
from tests.observability.conftest import free_port, scrape, value
from tests.polling import eventually
from tests.rules.conftest import REPO, Rig, _binary
from tests.temporal_servers import time_skipping
from tests.workflows.fakes import register_search_attributes

CLOSE = "close-after-3-quiet-days"


async def test_worker_exports_our_metrics_and_the_sdks(
    sessions: sessionmaker[Session], factory: Factory, database_url: str, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "40-close-quiet.yaml").write_text((REPO / "rules" / "40-close-quiet.yaml").read_text())
    settings = Settings(database_url=database_url, rules_dir=rules)
    ours_port, sdk_port = free_port(), free_port()
    server = metrics.serve_worker_metrics("127.0.0.1", ours_port)
    ours = f"http://127.0.0.1:{ours_port}/metrics"
    env = await time_skipping(
        test_server_existing_path=_binary("temporal-test-server"),
        runtime=metrics.temporal_runtime("127.0.0.1", sdk_port),
    )
    contact = factory.contact(name="Ada Lovelace")
    conversation = factory.conversation(contact=contact)
    try:
        before = scrape(ours)
        async with env:
            await register_search_attributes(env.client)
            with (
                ThreadPoolExecutor(SEND_THREADS) as executor,
                ThreadPoolExecutor(DB_THREADS) as db_executor,
            ):
                rig = Rig(env, sessions, settings, executor, db_executor)
                async with rig.worker():
                    await rig.inbound(conversation.id, "thanks")
                    await rig.reply(conversation.id, "You're welcome!", None)
                    await rig.env.sleep(timedelta(days=3, minutes=2))

                    def ran() -> bool:
                        with sessions() as session:
                            query = select(RuleRun).where(RuleRun.rule == CLOSE)
                            return session.scalars(query).first() is not None

                    await eventually(ran)
                    await rig.settled(conversation.id)
                    sdk = httpx.get(f"http://127.0.0.1:{sdk_port}/metrics", timeout=5).text
        after = scrape(ours)
    finally:
        server.shutdown()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("inbox_rule_runs_total", rule=CLOSE, outcome="fired") == 1
    # The agent's reply and the rule's closing SMS, both delivered by the simulator.
    assert grew("inbox_sends_total", status="delivered") == 2
    assert grew("inbox_rule_wait_lateness_seconds_count") == 1
    # The time-skipping server fires the timer the moment it is due.
    assert 0 <= grew("inbox_rule_wait_lateness_seconds_sum") < 60
    assert ("inbox_sends_held_total", ()) in after
    sdk_names = {family.name for family in text_string_to_metric_families(sdk)}
    # What the dashboard charts of the SDK's (docs/grafana-dashboard.json).
    assert sdk_names >= metrics.TEMPORAL_SDK, metrics.TEMPORAL_SDK - sdk_names
