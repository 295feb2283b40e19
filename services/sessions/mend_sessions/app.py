"""Wiring of the sessions service: runtime (store, relay, projections, the consent and risk
subscriptions), the consistency guard, and the API."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from mend_events.app.composition import ServiceOf, Wiring, composition_root
from mend_events.app.runtime import ServiceRuntime
from mend_events.messaging.reactions import subscribe
from mend_events.security.practitioners import PractitionerDirectory

from mend_sessions.api import router
from mend_sessions.consistency import (
    ConsistencyGuard,
    ConsumerPositions,
    Watched,
    max_lag_from_env,
)
from mend_sessions.reactions import Reactions
from mend_sessions.read_models import CaseStates, ConsentView, RiskView
from mend_sessions.service import SessionsService


def wire(
    app: FastAPI, runtime: ServiceRuntime, *, max_consent_lag_ms: int | None = None
) -> Wiring[SessionsService]:
    """`max_consent_lag_ms` defaults to `MEND_SESSIONS_MAX_CONSENT_LAG_MS` (2000)."""
    app.include_router(router())
    schema = runtime.schema
    registry, cases = PractitionerDirectory(schema), CaseStates(schema)
    consent, risk, positions = ConsentView(schema), RiskView(schema), ConsumerPositions(schema)
    runtime.project(registry)
    runtime.project(cases)

    service = ServiceOf(
        runtime,
        lambda rt: SessionsService(rt.store, consent, risk, registry, cases, sealer=rt.sealer),
    )
    reactions = Reactions(service, consent, risk, schema)
    subscribe(runtime, reactions, on_position=positions.record)
    lag = max_lag_from_env() if max_consent_lag_ms is None else max_consent_lag_ms

    async def then(rt: ServiceRuntime, svc: SessionsService) -> None:
        assert rt.pool is not None
        guard = ConsistencyGuard(
            rt.pool,
            positions,
            rt.settings.kafka_bootstrap,
            [
                Watched(rt.group_of("consent"), rt.topic_of("consent"), "consent"),
                Watched(rt.group_of("risk"), rt.topic_of("risk"), "risk"),
            ],
            max_lag_ms=lag,
        )
        await guard.start()
        svc.guard = guard
        app.state.runtime = rt
        app.state.reactions = reactions
        rt.track(_close_on_stop(guard))

    return Wiring(service, then)


build = composition_root("sessions", wire)


async def _close_on_stop(guard: ConsistencyGuard) -> None:
    """Holds the guard's broker client for the runtime's lifetime (cancelled on stop)."""
    try:
        await asyncio.Event().wait()
    finally:
        await guard.stop()


def create() -> FastAPI:
    return build()[0]
