"""`SignIn`: the sign-in's parts and flows, made once the hub's runtime has started (it needs
the runtime's pool and store) and held by the app as `app.state.signin`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI
from mend_events.app.runtime import ServiceRuntime
from mend_events.security.crypto import AgencyKeys

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
        *,
        passwords: Passwords | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> SignIn:
        assert runtime.pool is not None and runtime.store is not None, "runtime not started"
        return cls(
            Parts(
                pool=runtime.pool,
                store=runtime.store,
                schema=runtime.schema,
                agency_keys=AgencyKeys.from_env(),
                passwords=passwords or Passwords(),
                clock=clock,
            )
        )


def install(
    app: FastAPI,
    runtime: ServiceRuntime,
    *,
    passwords: Passwords | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Add the sign-in's routes to the hub's app, and make `app.state.signin` once the runtime
    has started (call before the app starts, like every other part of the composition root)."""
    app.include_router(router())

    async def started(rt: ServiceRuntime) -> None:
        app.state.signin = SignIn.of(rt, passwords=passwords, clock=clock)

    runtime.on_start(started)


def mount(app: FastAPI, runtime: ServiceRuntime, service_of: object) -> None:
    """The hub's part protocol (app.py's PARTS): the sign-in reads the hub's own events itself."""
    install(app, runtime)
