"""`SignIn`: the sign-in's parts and flows, made once the hub's runtime has started (it needs
the runtime's pool and store) and held by the app as `app.state.signin`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from mend_events.app.composition import ServiceOf
from mend_events.app.runtime import ServiceRuntime
from mend_events.contracts.catalog.hub import SignIn as SignInKind
from mend_events.security.crypto import AgencyKeys

from mend_hub.commands import OnboardAgency
from mend_hub.people.part import allocations_of
from mend_hub.people.relations import Relations
from mend_hub.service import HubService
from mend_hub.signin.api import router
from mend_hub.signin.enrolment import Enrolment
from mend_hub.signin.flows import SignInFlows
from mend_hub.signin.parts import Parts, utc_now
from mend_hub.signin.passwords import Passwords


class SignIn:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self.flows = SignInFlows(parts)
        self.enrolment = Enrolment(parts)

    @classmethod
    def of(
        cls,
        runtime: ServiceRuntime,
        hub: Callable[[], HubService],
        *,
        passwords: Passwords | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> SignIn:
        assert runtime.pool is not None and runtime.store is not None, "runtime not started"
        return cls(
            Parts(
                pool=runtime.pool,
                store=runtime.store,
                hub=hub,
                schema=runtime.schema,
                agency_keys=AgencyKeys.from_env(),
                passwords=passwords or Passwords(),
                clock=clock,
                relations=Relations(runtime.pool, runtime.schema, allocations_of(hub)),
            )
        )


def mount(app: FastAPI, runtime: ServiceRuntime, service_of: ServiceOf[HubService]) -> None:
    """The sign-in as a part of the hub's app (app.py's PARTS): its routes, and
    `app.state.signin` once the runtime has started."""
    app.include_router(router())

    async def first_key(body: OnboardAgency) -> dict[str, Any]:
        """A local-sign-in agency onboarded without keys of its own gets its first signing key
        in the same request (published as AgencyKeyAdded); run again (a retried onboarding),
        it makes none. Later keys, and retiring them with overlap: the key routes."""
        if body.sign_in is not SignInKind.LOCAL or body.keys:
            return {}
        enrolment: Enrolment = app.state.signin.enrolment
        await enrolment.add_signing_key(body.agency_id, only_if_none=True)
        kid = await enrolment.current_key(body.agency_id)
        return {"signing_key": {"kid": kid}} if kid else {}

    app.state.after_onboarding = [*getattr(app.state, "after_onboarding", ()), first_key]

    async def started(rt: ServiceRuntime) -> None:
        app.state.signin = SignIn.of(rt, service_of)

    runtime.on_start(started)
