"""The people directory as a part of the hub (`mend_hub.app.PARTS`): its routes, its service
(made when the runtime starts, on the runtime's store and sealer), and the hub's subscription
to the consent service's topic, which carries erasure requests.

Erasure: the consent service records `PersonalDataErased`; the runtime wraps every handler of a
subscription to the consent topic so that the person's data keys in the hub's schema are
destroyed in the inbox transaction before the handler runs (`mend_events.security.erasure`).
The people directory needs nothing else: it keeps no copy of any detail outside the sealed
events, so with the keys gone nothing of the person can be opened anywhere in the hub."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from fastapi import FastAPI
from mend_events.app.runtime import ServiceRuntime
from mend_events.contracts.envelope import RecordedEvent
from mend_events.messaging.reactions import Consumes, subscribe

from mend_hub.people.api import router
from mend_hub.people.relations import AllocatedAmong, Relations
from mend_hub.people.service import PeopleService


class Reactions:
    """The consent topic, for its erasures only (applied by the runtime's wrapper)."""

    CONSUMES = (Consumes("consent", consent=()),)

    async def on_consent(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        return None  # the person's keys were destroyed before this runs; nothing else to do


def allocations_of(service_of: Callable[[], Any]) -> AllocatedAmong:
    """The cases among those given that are allocated to the practitioner, each folded from
    its own stream in the hub's store (never behind a projection: a reallocation holds from
    the next request on)."""

    async def allocated_among(
        conn: asyncpg.Connection, case_ids: Sequence[str], practitioner_id: str, agency: str
    ) -> Sequence[str]:
        hub = service_of()
        found = []
        for case_id in case_ids:
            state, _ = await hub.commands.load(case_id)
            if getattr(state, "agency_id", None) == agency and state.allocated(practitioner_id):
                found.append(case_id)
        return found

    return allocated_among


def mount(app: FastAPI, runtime: ServiceRuntime, service_of: Callable[[], Any]) -> None:
    app.include_router(router())
    subscribe(runtime, Reactions())

    async def started(rt: ServiceRuntime) -> None:
        assert rt.store is not None and rt.sealer is not None and rt.pool is not None
        relations = Relations(rt.pool, rt.schema, allocations_of(service_of))
        app.state.people = PeopleService(rt.store, rt.sealer, relations)

    runtime.on_start(started)
