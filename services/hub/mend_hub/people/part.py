"""The people directory as a part of the hub (`mend_hub.app.PARTS`): its routes, its service
(made when the runtime starts, on the runtime's store and sealer).

Erasure: the consent service records `PersonalDataErased`; the hub's subscription to the consent
topic (mend_hub.reactions) destroys the person's data keys in the hub's schema in the inbox
transaction (`mend_events.security.erasure`). The people directory needs nothing else: it keeps
no copy of any detail outside the sealed events, so with the keys gone nothing of the person can
be opened anywhere in the hub."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from fastapi import FastAPI
from mend_events.app.composition import ServiceOf
from mend_events.app.runtime import ServiceRuntime

from mend_hub.domain import CaseAllocations
from mend_hub.people.api import router
from mend_hub.people.relations import AllocatedAmong, Relations
from mend_hub.people.service import PeopleService
from mend_hub.service import HubService


def allocations_of(service_of: ServiceOf[HubService]) -> AllocatedAmong:
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
            if not isinstance(state, CaseAllocations) or state.agency_id != agency:
                continue
            if state.allocated(practitioner_id):
                found.append(case_id)
        return found

    return allocated_among


def mount(app: FastAPI, runtime: ServiceRuntime, service_of: ServiceOf[HubService]) -> None:
    """This part's routes and service on the hub's app (app.py calls every part's `mount`)."""
    app.include_router(router())

    async def started(rt: ServiceRuntime) -> None:
        assert rt.store is not None and rt.sealer is not None and rt.pool is not None
        relations = Relations(rt.pool, rt.schema, allocations_of(service_of))
        app.state.people = PeopleService(rt.store, rt.sealer, relations)

    runtime.on_start(started)
