"""The participant's own support plan without a case (/me/support shows it): one click stops it
at once, nothing asked (the aftercare service records their word). Someone who enquired without
giving a name (an account whose id is the enquiry's reference) may choose there to become a
registered person: their own act, recorded by the hub."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from mend_web.pages import services
from mend_web.participant import Participant


def router() -> APIRouter:
    r = APIRouter()

    @r.post("/me/support/stop")
    async def stop(request: Request, me: Participant) -> Response:
        await services(request).stop_support(me.token, me.person_id)
        return RedirectResponse("/me/support?done=stopped", status_code=303)

    @r.post("/me/registration")
    async def register(request: Request, me: Participant) -> Response:
        await services(request).register_enquirer(me.token, me.person_id)
        return RedirectResponse("/me/support?done=registered", status_code=303)

    return r
