"""Wiring of the hub: runtime (store, relay to `hub.events.v1`, the consumer of sessions' case
events, the staff and allocations projection), and every part's routes.

`PARTS`: the modules that make up the hub's API, each with `mount(app, runtime, service_of)`
(api.py is the core: agencies, staff, allocations). Sign-in and the people directory add theirs
here; each may add its own projections, subscriptions and start hooks to `runtime` in `mount`
(before the app starts) and reach the core through `service_of()` (a `HubService`)."""

from __future__ import annotations

from fastapi import FastAPI
from mend_events.app.composition import ServiceOf, Wiring, composition_root
from mend_events.app.runtime import ServiceRuntime
from mend_events.messaging.reactions import subscribe
from mend_events.security.cases import CaseDirectory
from mend_events.security.identity import require_identity

from mend_hub import api
from mend_hub.enquiries import part as enquiries
from mend_hub.notify import part as notify
from mend_hub.people import part as people
from mend_hub.reactions import Reactions
from mend_hub.read_models import HubDirectory
from mend_hub.service import HubService
from mend_hub.signin import wiring as signin
from mend_hub.signin.api import signed_in

PARTS = (api, people, signin, notify, enquiries)


def wire(app: FastAPI, runtime: ServiceRuntime) -> Wiring[HubService]:
    cases = CaseDirectory(runtime.schema)
    runtime.project(HubDirectory(runtime.schema))
    service_of = ServiceOf(runtime, lambda rt: HubService(rt.store, cases, settle=rt.settle))
    subscribe(runtime, Reactions(cases))
    for part in PARTS:
        part.mount(app, runtime, service_of)
    # Every route of the hub, not only the sign-in's, admits the tokens the hub signed itself,
    # checked against its own events (never behind a topic: a retired key, a suspended agency or
    # a deactivated person is refused at once), and otherwise what the process's verifier admits.
    app.dependency_overrides[require_identity] = signed_in
    return Wiring(service_of)


build = composition_root("hub", wire)


def create() -> FastAPI:
    return build()[0]
