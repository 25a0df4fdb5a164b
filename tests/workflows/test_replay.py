"""Replay recorded histories with the current workflow code: a change that would break running
conversations (a reordered activity, a new timer without a patch) fails here, not in production.

Record new histories with ``python -m tests.workflows.record_histories`` (see its docstring).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.conversation import ConversationWorkflow
from workflows.send_message import SendMessageWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_recorded() -> None:
    names = {path.name.split("-")[0] for path in HISTORIES}
    assert {
        "conversation_clocks",
        "conversation_continue_as_new",
        "conversation_rules_fire",
        "conversation_rule_wait_pending",
        "conversation_business_wait",
        "send_message",
    } <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_replay(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(workflows=[ConversationWorkflow, SendMessageWorkflow])
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"
