"""Wiring of the risk service: runtime (store, relay, projection, trigger and registry
consumers) and API."""

from __future__ import annotations

from fastapi import FastAPI
from mend_events.app.composition import ServiceOf, Wiring, composition_root
from mend_events.app.runtime import ServiceRuntime
from mend_events.messaging.reactions import subscribe

from mend_risk.api import router
from mend_risk.domain import RiskPolicy
from mend_risk.reactions import Reactions
from mend_risk.read_models import RiskPositions
from mend_risk.service import RiskService
from mend_risk.settings import RiskSettings


def policy_from_env() -> RiskPolicy:
    """Validity periods (days): `MEND_RISK_VALIDITY_DAYS` (default for a decision) and
    `MEND_RISK_MAX_VALIDITY_DAYS` (the most a decision may ask for)."""
    config = RiskSettings.load()
    return RiskPolicy(
        default_validity_days=config.risk_validity_days,
        max_validity_days=config.risk_max_validity_days,
    )


def wire(
    app: FastAPI, runtime: ServiceRuntime, *, policy: RiskPolicy | None = None
) -> Wiring[RiskService]:
    """`policy` defaults to the environment's (`policy_from_env`)."""
    app.include_router(router())
    positions = RiskPositions(runtime.schema)
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
    subscribe(runtime, Reactions(runtime.schema, service))
    return Wiring(service)


build = composition_root("risk", wire)


def create() -> FastAPI:
    return build()[0]
