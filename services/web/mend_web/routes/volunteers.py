"""The coordinator's volunteers page (issue 21): the agency's community volunteers with, for
each part a volunteer may be allocated for, what still stands in the way (a check or course
missing, not clear or lapsed, as the hub reports it in codes), and the forms that enrol a
volunteer, record a vetting check or a course, and allocate a volunteer to a case for a part or
end it. The hub decides every one of them with the coordinator's own token; this page asks."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from mend_events.contracts.actors import PSEUDO_ID_PATTERN
from mend_events.contracts.catalog.hub import (
    AllocationReason,
    VettingCheck,
    VettingOutcome,
    VolunteerCourse,
    VolunteerPart,
)

from mend_web.pages import Viewer, render, services, viewer
from mend_web.routes.coordinator import CASE_PATTERN, REASONS

Coordinator = Annotated[Viewer, Depends(viewer("coordinator"))]
CaseField = Annotated[str, Form(pattern=CASE_PATTERN)]
PersonField = Annotated[str, Form(pattern=PSEUDO_ID_PATTERN)]
Day = Annotated[date, Form()]
DONE = {"enrolled", "vetting", "training"}


async def _volunteers(request: Request, me: Viewer) -> list[dict[str, Any]]:
    svc = services(request)
    people = [p for p in await svc.staff(me.token, me.agency) if p["role"] == "volunteer"]
    return [
        {**p, "record": await svc.volunteer_record(me.token, me.agency, p["person_id"])}
        for p in people
    ]


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/volunteers")
    async def volunteers(request: Request, me: Coordinator) -> Response:
        done = request.query_params.get("done")
        ctx = {"volunteers": await _volunteers(request, me), "parts": list(VolunteerPart),
               "checks": list(VettingCheck), "outcomes": list(VettingOutcome),
               "courses": list(VolunteerCourse), "reasons": REASONS,
               "done": done if done in DONE else None}  # fmt: skip
        return render(request, "coordinator/volunteers.html", ctx)

    @r.post("/volunteers")
    async def enrol(request: Request, me: Coordinator, person_id: PersonField) -> Response:
        await services(request).enrol_volunteer(me.token, me.agency, person_id)
        return RedirectResponse("/volunteers?done=enrolled", status_code=303)

    @r.post("/volunteers/vetting")
    async def vetting(
        request: Request, me: Coordinator, person_id: PersonField,
        check: Annotated[VettingCheck, Form()], outcome: Annotated[VettingOutcome, Form()],
        checked_on: Day, valid_until: Day,
    ) -> Response:  # fmt: skip
        body = {
            "check": str(check),
            "outcome": str(outcome),
            "checked_on": checked_on.isoformat(),
            "valid_until": valid_until.isoformat(),
        }
        await services(request).record_vetting(me.token, me.agency, person_id, body)
        return RedirectResponse("/volunteers?done=vetting", status_code=303)

    @r.post("/volunteers/training")
    async def training(
        request: Request, me: Coordinator, person_id: PersonField,
        course: Annotated[VolunteerCourse, Form()], completed_on: Day,
        valid_until: Annotated[date | None, Form()] = None,
    ) -> Response:  # fmt: skip
        body = {
            "course": str(course),
            "completed_on": completed_on.isoformat(),
            "valid_until": valid_until.isoformat() if valid_until else None,
        }
        await services(request).record_training(me.token, me.agency, person_id, body)
        return RedirectResponse("/volunteers?done=training", status_code=303)

    @r.post("/volunteers/allocations")
    async def allocate(
        request: Request, me: Coordinator, case_id: CaseField, volunteer_id: PersonField,
        part: Annotated[VolunteerPart, Form()],
        reason: Annotated[AllocationReason, Form()] = AllocationReason.NEW_CASE,
    ) -> Response:  # fmt: skip
        await services(request).allocate_volunteer(
            me.token, case_id, volunteer_id, str(part), str(reason)
        )
        return RedirectResponse(f"/allocations/{case_id}", status_code=303)

    @r.post("/volunteers/allocations/end")
    async def end(
        request: Request, me: Coordinator, case_id: CaseField, volunteer_id: PersonField,
        reason: Annotated[AllocationReason, Form()],
    ) -> Response:  # fmt: skip
        await services(request).end_volunteer(me.token, case_id, volunteer_id, str(reason))
        return RedirectResponse(f"/allocations/{case_id}", status_code=303)

    return r
