"""Wiring of the risk service: runtime (store, relay, projection, trigger and registry
consumers) and API."""

from __future__ import annotations

import os

from fastapi import FastAPI
from mend_events.app.composition import ServiceOf
from mend_events.app.runtime import ServiceRuntime
from mend_events.app.serve import service_app
from mend_events.app.settings import Settings
from mend_events.messaging.reactions import subscribe

from mend_risk.api import router
from mend_risk.domain import RiskPolicy
from mend_risk.reactions import Reactions
from mend_risk.read_models import RiskPositions
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
    service = ServiceOf(
        runtime,
        lambda rt: RiskService(
            rt.store,
            rt.sealer,
            positions,
            policy=policy or policy_from_env(),
            settle=rt.settle,
        ),
    )
    # The triggers of a reassessment, the case directory, and the practitioner registry.
    subscribe(runtime, Reactions(schema, service))

    async def started(_: ServiceRuntime) -> None:
        app.state.service = service()

    runtime.on_start(started)
    return app, runtime


def create() -> FastAPI:
    return build()[0]
