"""Waiting for an asynchronous consequence (a consumer's write, a projection, a relay): poll
until it shows, or fail after a deadline. Tests never sleep for a fixed time instead."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def wait_until(
    predicate: Callable[[], Awaitable[T]],
    timeout: float = 30.0,  # noqa: ASYNC109 - a polling deadline, not a cancellation scope
    interval: float = 0.05,
    *,
    timed_out: Callable[[Any], Exception] | None = None,
) -> T:
    """Poll `predicate` every `interval` seconds until it returns something truthy, and return
    that. After `timeout` seconds raise `timed_out(last value)`, by default an AssertionError
    naming the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            if timed_out is not None:
                raise timed_out(value)
            raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")
        await asyncio.sleep(interval)
