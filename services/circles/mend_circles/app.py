"""Wiring of the circles service: runtime (store, relay, consumers of consent, sessions and hub
events, the circle index projection) and API."""

from __future__ import annotations

from fastapi import FastAPI
from mend_events.app.composition import ServiceOf, Wiring, composition_root
from mend_events.app.runtime import ServiceRuntime
from mend_events.messaging.reactions import subscribe
from mend_events.security.cases import CaseDirectory

from mend_circles.api import router
from mend_circles.reactions import Reactions
from mend_circles.read_models import CircleConsent, CircleIndex
from mend_circles.service import CirclesService


def wire(app: FastAPI, runtime: ServiceRuntime) -> Wiring[CirclesService]:
    app.include_router(router())
    schema = runtime.schema
    cases, consent, index = CaseDirectory(schema), CircleConsent(schema), CircleIndex(schema)
    runtime.project(index)
    service_of = ServiceOf(
        runtime,
        lambda rt: CirclesService(rt.store, cases, consent, index, rt.settle, sealer=rt.sealer),
    )
    subscribe(runtime, Reactions(service_of, cases, consent, index))
    return Wiring(service_of, None)


build = composition_root("circles", wire)


def create() -> FastAPI:
    return build()[0]
