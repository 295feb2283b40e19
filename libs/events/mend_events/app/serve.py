"""Run a service as its own process (`python -m mend_<service> --port N`), and the wiring every
service's `app.py` shares: its runtime and app, and its periodic background work."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from mend_events.app.config import MendSettings
from mend_events.app.logging import configure_logging
from mend_events.app.runtime import ServiceRuntime
from mend_events.app.settings import DEFAULT_PORTS, Settings, is_production
from mend_events.messaging.consumer_errors import describe_error
from mend_events.security.crypto import AgencyKeys
from mend_events.security.public_keys import keys_from_env
from mend_events.web.http import create_app


def service_app(
    service: str,
    settings: Settings | None,
    schema: str,
    topic_prefix: str,
    router: APIRouter,
) -> tuple[FastAPI, ServiceRuntime]:
    """`service`'s runtime on `schema` (settings from the environment unless given) and its app:
    the runtime's lifespan, the HTTP edge (`create_app`) and `router`'s routes. The caller adds
    projections, subscriptions and start hooks to the runtime before the app starts."""
    if is_production():
        # Refused when the service is built, not at the first request or the first sealing:
        # the development token keys and the built-in development KEK.
        keys_from_env()
        AgencyKeys.from_env()
    runtime = ServiceRuntime(
        service, settings or Settings.from_env(), schema, topic_prefix=topic_prefix
    )
    runtime.stop_within = shutdown_grace() / 2
    app = create_app(service, runtime.lifespan())
    app.include_router(router)
    app.include_router(probes(runtime))

    async def trusted(rt: ServiceRuntime) -> None:
        # Every request is admitted by this process's view of the hub's trust model.
        app.state.trust = rt.trust

    runtime.on_start(trusted)
    return app, runtime


def probes(runtime: ServiceRuntime) -> APIRouter:
    """What the orchestrator and Prometheus ask, without a token (they carry no case data and
    no personal data; in a deployment they are reachable from the cluster's network only):
    liveness (this process's event loop turns: never fails because Kafka or PostgreSQL is
    down, so a restart cannot cure an outage), readiness (database, broker, relay and consumers:
    traffic stops while a dependency is away) and startup (every part started once)."""
    r = APIRouter(include_in_schema=False)

    def answer(ok: bool, body: dict[str, Any]) -> JSONResponse:
        return JSONResponse({"status": "ok" if ok else "unavailable", **body},
                            status_code=200 if ok else 503)  # fmt: skip

    @r.get("/health/live")
    async def live() -> JSONResponse:
        return answer(runtime.heartbeat.alive(), {})

    @r.get("/health/startup")
    async def startup() -> JSONResponse:
        return answer(runtime.started, {})

    @r.get("/health/ready")
    async def ready() -> JSONResponse:
        checks = await runtime.ready()
        return answer(all(checks.values()), {"checks": checks})

    return r


async def periodically(
    interval: float, work: Callable[[], Awaitable[None]], *, log: Any, failed: str
) -> None:
    """Run `work` every `interval` seconds for as long as the task lives (`runtime.track` it).
    A pass that fails is logged as `failed`, with the error as `describe_error` gives it (never a
    foreign message, which may quote personal data), and the next pass tries again."""
    while True:
        await asyncio.sleep(interval)
        try:
            await work()
        except Exception as exc:  # keep going; the next pass retries
            log.warning(failed, error=describe_error(exc))


def shutdown_grace() -> float:
    """Seconds a service has from SIGTERM to its exit (MEND_SHUTDOWN_GRACE_SECONDS, default 20:
    below Kubernetes' 30 s terminationGracePeriodSeconds, after which it would be killed). Half
    goes to the HTTP requests in flight, half to the runtime's stop (see ServiceRuntime.stop)."""
    return MendSettings.load().shutdown_grace_seconds


class _Server(uvicorn.Server):
    """uvicorn's server, except that a shutdown asked for by SIGTERM or SIGINT ends with exit
    code 0 once it is complete. uvicorn raises the signal again after its graceful shutdown, so
    a service that stopped cleanly died "of SIGTERM" (exit code 143), which an orchestrator or
    the launcher's keeper cannot tell from a kill."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            settle_heap()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def settle_heap() -> None:
    """Once a process has started: collect, then move every object alive now (modules, models,
    routes, pools: some 100k objects) out of the collector's reach with `gc.freeze`. A full
    collection otherwise walks all of them, a pause of tens of milliseconds (220 ms was seen
    on a loaded machine) that lands on whichever requests are in flight: the latency tail.
    Only for a serving process: a test process that froze each app it started would never
    collect their cycles once they are gone."""
    gc.collect()
    gc.freeze()


def run(service: str, make_app: Callable[[], FastAPI]) -> None:
    parser = argparse.ArgumentParser(prog=f"mend_{service}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORTS[service])
    args = parser.parse_args()
    configure_logging(service)
    serve_app(make_app(), host=args.host, port=args.port, loop="uvloop")


def serve_app(app: FastAPI, *, host: str, port: int, **options: Any) -> None:
    """Serve `app` until SIGTERM or SIGINT, then shut down within the grace period and exit
    with code 0 (see `_Server`); `options` are uvicorn's. For every process of the platform,
    the web app's too."""
    # log_config=None: uvicorn's loggers go through our scrubbing processors too.
    settings: dict[str, Any] = {
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": max(1, round(shutdown_grace() / 2)),
        **options,
    }
    server = _Server(uvicorn.Config(app, host=host, port=port, **settings))
    server.run()
    if not server.started:
        sys.exit(3)  # as uvicorn.run: the app did not start
