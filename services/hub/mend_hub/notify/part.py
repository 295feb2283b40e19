"""Reminders and notices as a part of the hub (`mend_hub.app.PARTS`): the `notify`
subscription, the outbox projection, the routes, and the deliverer. The hub owns them because
it owns what they need: the people directory (the sealed contact route a reminder goes to),
and the allocations (whose case it is). The deliverer runs every MEND_NOTIFY_INTERVAL_S
seconds (30) when a channel is configured (MEND_SMTP_HOST for e-mail); tests call
`run_once` themselves."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from mend_events.app.composition import ServiceOf
from mend_events.app.runtime import ServiceRuntime
from mend_events.contracts.catalog.hub import agency_stream
from mend_events.messaging.reactions import subscribe

from mend_hub.notify.api import router
from mend_hub.notify.channels import InApp, SmtpChannel
from mend_hub.notify.outbox import Deliverer, NotifyOutbox
from mend_hub.notify.reactions import Reactions
from mend_hub.notify.service import NotifyService, utc_now
from mend_hub.service import HubService
from mend_hub.settings import HubSettings
from mend_hub.zones import UTC_NAME


def mount(app: FastAPI, runtime: ServiceRuntime, service_of: ServiceOf[HubService]) -> None:
    app.include_router(router())
    outbox = NotifyOutbox(runtime.schema)
    runtime.project(outbox)
    app.state.notify_outbox = outbox

    async def allocations(case_id: str):
        return (await service_of().commands.load(case_id))[0]

    async def agency_zone(agency: str) -> str:
        state = (await service_of().commands.load(agency_stream(agency)))[0]
        return getattr(state, "timezone", None) or UTC_NAME

    def service() -> NotifyService:
        made = getattr(app.state, "notify", None)
        if made is None or made.store is not runtime.store:
            assert runtime.store is not None
            made = app.state.notify = NotifyService(
                runtime.store, allocations, utc_now, agency_zone
            )
        return made

    subscribe(runtime, Reactions(service))

    async def started(rt: ServiceRuntime) -> None:
        assert rt.store is not None and rt.sealer is not None and rt.pool is not None
        service()
        app.state.runtime_pool = rt.pool
        email = SmtpChannel.from_env()
        channels = {"in_app": InApp(), **({"email": email} if email else {})}
        deliverer = Deliverer(rt.pool, rt.store, rt.sealer, channels, utc_now)
        app.state.notify_deliverer = deliverer
        if email is not None:
            rt.track(_deliver_every(deliverer, HubSettings.load().notify_interval_s))

    runtime.on_start(started)


async def _deliver_every(deliverer: Deliverer, interval: float) -> None:
    while True:
        await deliverer.run_once()
        await asyncio.sleep(interval)
