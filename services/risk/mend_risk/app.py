"""Wiring of the risk service: runtime (store, relay, projection, trigger and registry
consumers) and API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI
from mend_events.app.composition import ServiceOf, Wiring, composition_root
from mend_events.app.runtime import ServiceRuntime
from mend_events.messaging.reactions import subscribe
from mend_events.rules import RulePack
from mend_events.security.trust.snapshot import TrustSnapshot

from mend_risk.api import router
from mend_risk.reactions import Reactions
from mend_risk.read_models import RiskPositions
from mend_risk.service import RiskService


def wire(app: FastAPI, runtime: ServiceRuntime) -> Wiring[RiskService]:
    """Validity periods come from the rule pack each agency adopted (`mend_events.rules`),
    as the trust model knows it."""
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
            rule_pack=_rule_packs(rt),
        ),
    )
    # The triggers of a reassessment, the case directory, and the practitioner registry.
    subscribe(runtime, Reactions(runtime.schema, service))
    return Wiring(service)


def _rule_packs(rt: ServiceRuntime) -> Callable[[str, datetime], RulePack]:
    """The pack in force as this process's trust model knows it (started with the runtime)."""

    def in_force(agency: str, at: datetime) -> RulePack:
        snapshot = rt.trust.snapshot if rt.trust is not None else TrustSnapshot()
        return snapshot.rule_pack(agency, at)

    return in_force


build = composition_root("risk", wire)


def create() -> FastAPI:
    return build()[0]
