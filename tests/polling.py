"""The one polling helper of the tests: wait, in real time, for something to become true."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], T | Awaitable[T]], timeout: float = 15.0, what: str = ""
) -> T:
    """Call ``check`` (a function or a coroutine function) every 50 ms until it returns
    something truthy, and return that; fail after ``timeout`` seconds of real time (not
    workflow time: the time-skipping server skips only timers)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while True:
        result = check()
        last = await result if inspect.isawaitable(result) else result
        if last:
            return last  # type: ignore[no-any-return]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what or 'condition'} not met in {timeout} s; last: {last!r}")
        await asyncio.sleep(0.05)
