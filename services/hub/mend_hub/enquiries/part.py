"""Enquiries as a part of the hub (`mend_hub.app.PARTS`): routes and the service, made when the
runtime starts. The enquiry's way back is sealed under a key of the enquiry's own; the
activation code comes from sign-in's enrolment (an account whose person id is the reference)."""

from __future__ import annotations

from fastapi import FastAPI
from mend_events.app.composition import ServiceOf
from mend_events.app.runtime import ServiceRuntime
from mend_events.contracts.actors import Role
from mend_events.security.identity import Identity

from mend_hub.enquiries.api import router
from mend_hub.enquiries.index import EnquiryIndex
from mend_hub.enquiries.service import EnquiryService
from mend_hub.service import HubService


def mount(app: FastAPI, runtime: ServiceRuntime, service_of: ServiceOf[HubService]) -> None:
    app.include_router(router())

    async def invite(identity: Identity, agency: str, person_id: str, role: Role):
        return await app.state.signin.enrolment.invite_enquirer(identity, agency, person_id, role)

    async def started(rt: ServiceRuntime) -> None:
        assert rt.store is not None and rt.sealer is not None and rt.pool is not None
        index = EnquiryIndex(rt.pool, rt.schema)
        people = app.state.people.commands  # the people directory's (mounted before this part)
        app.state.enquiries = EnquiryService(rt.store, rt.sealer, index, people, invite)

    runtime.on_start(started)
