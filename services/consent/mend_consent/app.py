"""Wiring of the consent service: runtime (store, relay, projection), API, lapse sweeper."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

import structlog
from fastapi import FastAPI
from mend_events.consumer import describe_error
from mend_events.http import create_app
from mend_events.runtime import ServiceRuntime
from mend_events.settings import Settings

from mend_consent.api import router
from mend_consent.projections import CurrentGrants
from mend_consent.service import ConsentService

log = structlog.get_logger("mend.consent")


def build(
    settings: Settings | None = None,
    *,
    schema: str = "consent",
    topic_prefix: str = "",
    lapse_interval: float | None = None,
) -> tuple[FastAPI, ServiceRuntime]:
    """The app and its runtime; `app.state.service` exists once the runtime has started."""
    runtime = ServiceRuntime(
        "consent", settings or Settings.from_env(), schema, topic_prefix=topic_prefix
    )
    grants = CurrentGrants(schema)
    runtime.project(grants)
    app = create_app("consent", runtime.lifespan())
    interval = lapse_interval or float(os.environ.get("MEND_LAPSE_INTERVAL", "30"))

    async def started(rt: ServiceRuntime) -> None:
        assert rt.store is not None
        service = ConsentService(rt.store, rt.sealer, grants, rt.settle)
        app.state.service = service
        rt.track(_sweep_lapses(service, interval, rt))

    runtime.on_start(started)
    app.include_router(router())
    return app, runtime


async def _sweep_lapses(service: ConsentService, interval: float, rt: ServiceRuntime) -> None:
    """Expiry is a fact in time: record each lapse as an event, so a replay sees it."""
    while True:
        await asyncio.sleep(interval)
        try:
            changed = await service.lapse_due(datetime.now(UTC))
        except Exception as exc:  # keep sweeping; the next pass retries
            log.warning("consent.lapse_sweep_failed", error=describe_error(exc))
            continue
        if changed:
            rt.wake_projections()
            log.info("consent.lapses_recorded", cases=changed)


def create() -> FastAPI:
    return build()[0]
