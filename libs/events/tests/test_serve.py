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


CHILD = """
import contextlib, sys
from fastapi import FastAPI
from mend_events.app import serve

@contextlib.asynccontextmanager
async def lifespan(app):
    print("lifespan started", flush=True)
    yield
    print("lifespan stopped", flush=True)

sys.argv = ["mend_consent", "--port", sys.argv[1]]
serve.run("consent", lambda: FastAPI(lifespan=lifespan))
"""


async def test_sigterm_ends_a_service_with_exit_code_0_after_its_shutdown() -> None:
    # uvicorn raises SIGTERM again after its graceful shutdown, so a service that stopped
    # cleanly died "of SIGTERM" (exit code -15 / 143): this failed before serve._Server.
    import os
    import signal
    import socket
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(port), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env={**os.environ, "MEND_SHUTDOWN_GRACE_SECONDS": "4"},
    )  # fmt: skip
    assert child.stdout is not None
    lines: list[bytes] = []
    while b"Uvicorn running" not in b"".join(lines):
        line = await asyncio.wait_for(child.stdout.readline(), 30)
        assert line, b"".join(lines)
        lines.append(line)
    child.send_signal(signal.SIGTERM)
    rest = await asyncio.wait_for(child.stdout.read(), 10)
    assert await child.wait() == 0, rest
    assert b"lifespan stopped" in rest


async def test_a_started_server_moves_its_startup_heap_out_of_the_collectors_reach() -> None:
    """A full collection would otherwise walk every module, model and route at each pass: a
    latency-tail pause on whatever requests are in flight."""
    import gc

    import uvicorn
    from fastapi import FastAPI
    from mend_events.app.serve import _Server

    server = _Server(uvicorn.Config(FastAPI(), host="127.0.0.1", port=0, log_config=None))
    server.config.setup_event_loop = lambda: None
    gc.unfreeze()
    try:
        server.config.load()
        server.lifespan = server.config.lifespan_class(server.config)
        await server.startup()
        assert server.started
        assert gc.get_freeze_count() > 10_000
    finally:
        await server.shutdown()
        gc.unfreeze()  # this test process keeps collecting
