"""A community volunteer's own page (issue 21): the cases they are allocated to now, each with
their part (the hub's caseload, their own only), and for a case where they are a support person
the times and arrangements of the meetings that ask for one (the sessions service decides what
they see: never a place, a note, who a meeting is for, or why one was called off). Nothing else
of any case is asked for."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from mend_web.pages import Viewer, render, services, viewer
from mend_web.services import ServiceError

Volunteer = Annotated[Viewer, Depends(viewer("volunteer"))]


async def _meetings(request: Request, me: Viewer, case_id: str) -> list[dict[str, Any]] | None:
    """The meetings the sessions service shows them (None: not available to them now, e.g.
    once their allocation has lapsed)."""
    try:
        return list((await services(request).meetings(me.token, case_id)).get("meetings", []))
    except ServiceError as refused:
        if refused.status in (403, 404):
            return None
        raise


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/volunteering")
    async def volunteering(request: Request, me: Volunteer) -> Response:
        cases = await services(request).caseload(me.token, me.person_id)
        rows = []
        for case in cases:
            support = case.get("part") == "support_person"
            meetings = await _meetings(request, me, case["case_id"]) if support else None
            rows.append({**case, "meetings": meetings})
        return render(request, "volunteer/home.html", {"cases": rows})

    return r
