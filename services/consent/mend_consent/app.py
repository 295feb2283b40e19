"""Wiring of the consent service: runtime (store, relay, projection), API, lapse sweeper."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import structlog
from fastapi import FastAPI
from mend_events.app.composition import ServiceOf, Wiring, composition_root
from mend_events.app.runtime import ServiceRuntime
from mend_events.app.serve import periodically
from mend_events.commands.service import CommandService
from mend_events.messaging.reactions import subscribe
from mend_events.security.cases import CaseDirectory
from mend_events.security.erasure import ErasureProjection
from mend_events.security.erasure import decider as erasure_decider

from mend_consent.api import router
from mend_consent.erasure import router as erasure_router
from mend_consent.reactions import Reactions
from mend_consent.read_models import CurrentGrants
from mend_consent.service import ConsentService
from mend_consent.settings import ConsentSettings

log = structlog.get_logger("mend.consent")


def wire(
    app: FastAPI, runtime: ServiceRuntime, *, lapse_interval: float | None = None
) -> Wiring[ConsentService]:
    """`lapse_interval`: seconds between lapse sweeps (`MEND_LAPSE_INTERVAL`, default 30)."""
    app.include_router(router())
    schema = runtime.schema
    grants = CurrentGrants(schema)
    runtime.project(grants)
    runtime.project(ErasureProjection(schema))  # the consent service records erasures
    app.include_router(erasure_router())
    # The cases and their members, as the sessions service opened and enrolled them.
    directory = CaseDirectory(schema)
    subscribe(runtime, Reactions(directory))
    service_of = ServiceOf(
        runtime,
        lambda rt: ConsentService(rt.store, rt.sealer, grants, rt.settle, directory),
    )
    interval = lapse_interval or ConsentSettings.load().lapse_interval

    async def then(rt: ServiceRuntime, service: ConsentService) -> None:
        assert rt.store is not None
        app.state.erasures = CommandService(rt.store, erasure_decider)
        app.state.settle = rt.settle
        sweep = partial(_sweep_lapses, service, rt)
        rt.track(periodically(interval, sweep, log=log, failed="consent.lapse_sweep_failed"))

    return Wiring(service_of, then)


build = composition_root("consent", wire)


async def _sweep_lapses(service: ConsentService, rt: ServiceRuntime) -> None:
    """Expiry is a fact in time: record each lapse as an event, so a replay sees it."""
    changed = await service.lapse_due(datetime.now(UTC))
    if changed:
        rt.wake_projections()
        log.info("consent.lapses_recorded", cases=changed)


def create() -> FastAPI:
    return build()[0]
