"""The wiring services share: periodic background work keeps going after a failed pass."""

from __future__ import annotations

import asyncio

from mend_events.app.serve import periodically
from mend_events.errors import Rejected


class _Log:
    def __init__(self) -> None:
        self.warnings: list[tuple[str, dict[str, str]]] = []

    def warning(self, event: str, **fields: str) -> None:
        self.warnings.append((event, fields))


async def test_a_failed_pass_is_logged_by_type_and_the_next_one_runs() -> None:
    log, passes, done = _Log(), [], asyncio.Event()

    async def work() -> None:
        passes.append(len(passes))
        if len(passes) == 1:
            raise ValueError("may quote hp-3f9a2c's words")
        if len(passes) == 2:
            raise Rejected("not now", field="when")
        done.set()

    task = asyncio.create_task(periodically(0.001, work, log=log, failed="svc.pass_failed"))
    await asyncio.wait_for(done.wait(), timeout=5)
    task.cancel()
    assert passes == [0, 1, 2]
    assert log.warnings == [
        ("svc.pass_failed", {"error": "ValueError"}),
        ("svc.pass_failed", {"error": "Rejected: rejected at when"}),
    ]
