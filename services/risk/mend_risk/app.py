"""Wiring of the risk service: runtime (store, relay, projection, trigger and registry
consumers) and API."""

from __future__ import annotations

import os

from fastapi import FastAPI
from mend_events.practitioners import learn_registry
from mend_events.runtime import ServiceRuntime
from mend_events.serve import service_app
from mend_events.settings import Settings

from mend_risk.api import router
from mend_risk.domain import RiskPolicy
from mend_risk.projections import RiskPositions
from mend_risk.reactions import SOURCES, SUBSCRIPTION, Triggers
from mend_risk.service import RiskService


def policy_from_env() -> RiskPolicy:
    """Validity periods (days): `MEND_RISK_VALIDITY_DAYS` (default for a decision) and
    `MEND_RISK_MAX_VALIDITY_DAYS` (the most a decision may ask for)."""
    default = RiskPolicy()
    return RiskPolicy(
        default_validity_days=int(
            os.environ.get("MEND_RISK_VALIDITY_DAYS", default.default_validity_days)
        ),
        max_validity_days=int(
            os.environ.get("MEND_RISK_MAX_VALIDITY_DAYS", default.max_validity_days)
        ),
    )


def build(
    settings: Settings | None = None,
    *,
    schema: str = "risk",
    topic_prefix: str = "",
    policy: RiskPolicy | None = None,
) -> tuple[FastAPI, ServiceRuntime]:
    """The app and its runtime; `app.state.service` exists once the runtime has started."""
    app, runtime = service_app("risk", settings, schema, topic_prefix, router())
    positions = RiskPositions(schema)
    runtime.project(positions)
    services: list[RiskService] = []

    def service() -> RiskService:
        # Built on first use: the trigger consumer starts before the start hooks run, and
        # both must share one service (one command path, one state cache).
        if not services:
            assert runtime.store is not None, "the runtime has not started"
            services.append(
                RiskService(
                    runtime.store,
                    runtime.sealer,
                    positions,
                    policy=policy or policy_from_env(),
                    settle=runtime.settle,
                )
            )
        return services[0]

    runtime.subscribe(SUBSCRIPTION, SOURCES, Triggers(schema, service).handle)
    # The practitioner registry, per agency, for sign-offs (the same way in every service).
    learn_registry(runtime, schema)

    async def started(_: ServiceRuntime) -> None:
        app.state.service = service()

    runtime.on_start(started)
    return app, runtime


def create() -> FastAPI:
    return build()[0]
