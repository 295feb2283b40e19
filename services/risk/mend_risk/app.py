"""Wiring of the risk service: runtime (store, relay, projection, trigger and registry
consumers) and API."""

from __future__ import annotations

from fastapi import FastAPI
from mend_events.app.composition import ServiceOf, Wiring, composition_root
from mend_events.app.runtime import ServiceRuntime
from mend_events.messaging.reactions import subscribe

from mend_risk.api import router
from mend_risk.reactions import Reactions
from mend_risk.read_models import RiskPositions
from mend_risk.service import RiskService


def wire(app: FastAPI, runtime: ServiceRuntime) -> Wiring[RiskService]:
    """Validity periods come from the rule pack each agency adopted (`mend_events.rules`),
    as the trust tables hold it (read under the agency's rule-pack lock)."""
    app.include_router(router())
    positions = RiskPositions(runtime.schema)
    runtime.project(positions)
    service = ServiceOf(
        runtime,
        lambda rt: RiskService(
            rt.store,
            rt.sealer,
            positions,
            settle=rt.settle,
        ),
    )
    # The triggers of a reassessment, the case directory, and the practitioner registry.
    subscribe(runtime, Reactions(runtime.schema, service))
    return Wiring(service)


build = composition_root("risk", wire)


def create() -> FastAPI:
    return build()[0]
