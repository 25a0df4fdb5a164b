"""A tiny conversation workflow that drives ``workflows/automation.py`` the way the real
``ConversationWorkflow`` does: apply a signal, yield its trigger, call ``on_trigger``; sleep until
the next wait is due, call ``run_due``; carry ``AutomationState`` across continue-as-new."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from inbox.rules.payloads import AutomationState
    from workflows.automation import Automation
    from workflows.contracts import SIGNAL_NAMES, ConversationEvent, ConversationState


@dataclass
class HarnessInput:
    state: ConversationState
    automation: AutomationState = field(default_factory=AutomationState)


@dataclass
class HarnessSignal:
    name: str
    event: ConversationEvent


@workflow.defn(name="AutomationHarness")
class AutomationHarness:
    @workflow.init
    def __init__(self, data: HarnessInput) -> None:
        self.state = data.state
        self.automation = Automation(data.automation, data.state.conversation_id)
        self.queue: list[HarnessSignal] = []
        self.handled = 0
        self.continue_requested = False

    @workflow.signal
    def event(self, signal: HarnessSignal) -> None:
        assert signal.name in SIGNAL_NAMES
        self.queue.append(signal)

    @workflow.signal
    def continue_now(self) -> None:
        self.continue_requested = True

    @workflow.query
    def handled_count(self) -> int:
        return self.handled

    @workflow.query
    def automation_state(self) -> AutomationState:
        return self.automation.state

    def apply(self, name: str, event: ConversationEvent) -> str:
        state = self.state
        if name == "message_received":
            state.messages_received += 1
            state.last_inbound_at = event.at
            state.first_inbound_at = state.first_inbound_at or event.at
            state.last_direction = "inbound"
        elif name == "message_sent":
            state.messages_sent += 1
            state.last_outbound_at = event.at
            state.last_direction = "outbound"
            if not event.automated and state.first_response_at is None:
                state.first_response_at = event.at
        elif name == "closed":
            state.status = "closed"
        elif name == "reopened":
            state.status = "open"
        elif name == "assigned":
            state.assignee_id = event.assignee_id
        elif name == "moved":
            state.inbox_id = event.inbox_id
        return name

    @workflow.run
    async def run(self, data: HarnessInput) -> None:
        while True:
            timeout = self.automation.timeout()
            if timeout is None or timeout.total_seconds() > 0:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        lambda: bool(self.queue) or self.continue_requested, timeout=timeout
                    )
            while self.queue:
                signal = self.queue.pop(0)
                trigger = self.apply(signal.name, signal.event)
                await self.automation.on_trigger(trigger, signal.event, self.state)
                self.handled += 1
            await self.automation.run_due(self.state)
            if self.continue_requested and not self.queue:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(HarnessInput(self.state, self.automation.state))
