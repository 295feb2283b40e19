"""Wiring of the aftercare service: runtime (store, relay, consumers of consent and sessions
events, the progress outbox projection), API, and the progress-update sender."""

from __future__ import annotations

from functools import partial

import structlog
from fastapi import FastAPI
from mend_events.app.composition import ServiceOf, Wiring, composition_root
from mend_events.app.runtime import ServiceRuntime
from mend_events.app.serve import periodically
from mend_events.messaging.reactions import subscribe
from mend_events.security.cases import CaseDirectory

from mend_aftercare import conference_api, support
from mend_aftercare.api import router
from mend_aftercare.delivery import OnDelivered
from mend_aftercare.reactions import Reactions
from mend_aftercare.read_models import ConsentFacts, ProgressOutbox
from mend_aftercare.service import AftercareService
from mend_aftercare.settings import AftercareSettings

log = structlog.get_logger("mend.aftercare")


def wire(
    app: FastAPI,
    runtime: ServiceRuntime,
    *,
    update_interval: float | None = None,
    delivery_hold: float | None = None,
    on_delivered: OnDelivered | None = None,
    send_updates: bool = True,
) -> Wiring[AftercareService]:
    """`update_interval`: seconds between passes of the progress-update sender
    (`MEND_AFTERCARE_UPDATE_INTERVAL`, default 1). `delivery_hold`: seconds a released update
    waits before delivery, so a withdrawal recorded just before it can still arrive
    (`MEND_AFTERCARE_DELIVERY_HOLD`, default 5). `send_updates=False` leaves the outbox to the
    caller (`service.process_updates()`), for deterministic tests."""
    app.include_router(router())
    app.include_router(support.router())  # support without a case: the same decider
    app.include_router(conference_api.router())  # community team conferences (issue 21)
    schema = runtime.schema
    cases, consent = CaseDirectory(schema), ConsentFacts(schema)
    runtime.project(ProgressOutbox(schema))
    config = AftercareSettings.load()
    interval = update_interval or config.aftercare_update_interval
    hold = delivery_hold if delivery_hold is not None else config.aftercare_delivery_hold

    service_of = ServiceOf(
        runtime,
        lambda rt: AftercareService(
            rt.store,
            cases,
            consent,
            delivery_hold=hold,
            on_delivered=on_delivered,
            sealer=rt.sealer,
        ),
    )
    subscribe(runtime, Reactions(service_of, cases, consent))

    async def then(rt: ServiceRuntime, service: AftercareService) -> None:
        if send_updates:
            send = partial(_send_updates, service, rt)
            rt.track(periodically(interval, send, log=log, failed="aftercare.updates_failed"))

    return Wiring(service_of, then)


build = composition_root("aftercare", wire)


async def _send_updates(service: AftercareService, rt: ServiceRuntime) -> None:
    """Work off the progress-update outbox: decide share requests, deliver what is due (what a
    failed pass left pending, the next one retries)."""
    shared, delivered = await service.process_updates()
    if shared:
        rt.wake_projections()  # the new ProgressUpdateShared events become deliveries
    if shared or delivered:
        log.info("aftercare.updates_processed", shared=shared, delivered=delivered)


def create() -> FastAPI:
    return build()[0]
