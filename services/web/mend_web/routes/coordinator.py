"""The coordinator's pages: the agency's staff with their qualifications (the hub's staff
list), a case's allocations and their history, and the forms that allocate and reallocate
(the hub's allocation routes, with the coordinator's own token; the hub decides); each
practitioner's caseload (the hub's), and the agency report: counts only, the audit service's
commissioners' report as recorded by a chosen day (it hides every figure resting on fewer than
its threshold, and any figure that would give one away by difference) and the hub's caseloads
(a small count hidden here the same way), since a small number can point at a person."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from mend_events.contracts.actors import PSEUDO_ID_PATTERN
from mend_events.contracts.catalog.hub import AllocationReason

from mend_web import report_words
from mend_web.pages import Viewer, render, services, viewer

ROLES = ("coordinator",)
Coordinator = Annotated[Viewer, Depends(viewer(*ROLES))]
CASE_PATTERN = r"^case-[a-z0-9-]{3,60}$"
CasePath = Annotated[str, Path(pattern=CASE_PATTERN)]
CaseField = Annotated[str, Form(pattern=CASE_PATTERN)]
PersonField = Annotated[str, Form(pattern=PSEUDO_ID_PATTERN)]
# The reasons a coordinator chooses from (the hub's own are not offered).
REASONS = [r for r in AllocationReason if r not in {
    AllocationReason.STAFF_DEACTIVATED, AllocationReason.CASE_CLOSED,
    AllocationReason.VETTING_NOT_CLEAR}]  # fmt: skip
ReasonField = Annotated[AllocationReason, Form()]
# Fewer cases than this behind a count: shown as "fewer than 5" (the aftercare report's rule).
MIN_CELL = 5
SUPPRESSED = "<5"


def cell(count: int) -> int | str:
    return count if count >= MIN_CELL else SUPPRESSED


# The reporting day: the report counts what was recorded by the end of it (UTC).
ReportDay = Annotated[date | None, Query()]


def _end_of(day: date | None) -> str | None:
    return f"{day.isoformat()}T23:59:59.999999+00:00" if day else None


def _tables(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each table of the audit service's report with words for its codes; a hidden figure
    stays None (the page writes "fewer than N")."""
    words = report_words
    return [
        {
            "title": words.TABLES.get(t["name"], t["name"].replace("_", " ")),
            "name": t["name"],
            "rows": [(words.CELLS.get(k, k.replace("_", " ")), v) for k, v in t["cells"].items()],
            "with_total": t["with_total"],
            "total": t["total"],
        }
        for t in report["tables"]
    ]


async def _caseloads(request: Request, me: Viewer) -> list[dict[str, Any]]:
    """Each practitioner of the agency with the cases allocated to them now."""
    svc = services(request)
    people = await svc.staff(me.token, me.agency)
    return [
        {**p, "cases": await svc.caseload(me.token, p["person_id"])}
        for p in people
        if p["role"] == "practitioner"
    ]


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/staff")
    async def staff(request: Request, me: Coordinator) -> Response:
        people = await services(request).staff(me.token, me.agency)
        practitioners = [p for p in people if p["role"] == "practitioner" and p["active"]]
        ctx = {"staff": people, "practitioners": practitioners, "reasons": REASONS}
        return render(request, "coordinator/staff.html", ctx)

    @r.get("/allocations/{case_id}")
    async def allocations(request: Request, me: Coordinator, case_id: CasePath) -> Response:
        history = await services(request).allocations(me.token, case_id)
        return render(request, "coordinator/allocations.html", {"h": history})

    @r.post("/allocations")
    async def allocate(
        request: Request,
        me: Coordinator,
        case_id: CaseField,
        practitioner_id: PersonField,
        reason: ReasonField = AllocationReason.NEW_CASE,
    ) -> Response:
        await services(request).allocate(me.token, case_id, practitioner_id, str(reason))
        return RedirectResponse(f"/allocations/{case_id}", status_code=303)

    @r.post("/allocations/reallocation")
    async def reallocate(
        request: Request,
        me: Coordinator,
        case_id: CaseField,
        from_practitioner_id: PersonField,
        to_practitioner_id: PersonField,
        reason: ReasonField,
    ) -> Response:
        await services(request).reallocate(
            me.token, case_id, from_practitioner_id, to_practitioner_id, str(reason)
        )
        return RedirectResponse(f"/allocations/{case_id}", status_code=303)

    @r.get("/caseloads")
    async def caseloads(request: Request, me: Coordinator) -> Response:
        rows = await _caseloads(request, me)
        return render(request, "coordinator/caseloads.html", {"rows": rows})

    @r.get("/reports")
    async def report(request: Request, me: Coordinator, day: ReportDay = None) -> Response:
        report = await services(request).commissioner_report(me.token, _end_of(day))
        rows = await _caseloads(request, me)
        allocated = {c["case_id"] for row in rows for c in row["cases"]}
        active = sum(1 for row in rows if row["active"])
        ctx = {"report": report, "tables": _tables(report), "day": day,
               "allocated": cell(len(allocated)), "practitioners": active,
               "suppressed": SUPPRESSED, "min_cell": MIN_CELL,
               "stage_words": report_words.STAGES}  # fmt: skip
        return render(request, "coordinator/report.html", ctx)

    @r.get("/reports/download")
    async def report_file(
        request: Request,
        me: Coordinator,
        format: Annotated[Literal["csv", "json"], Query()] = "csv",
        day: ReportDay = None,
    ) -> Response:
        """The same report as a file for the commissioners (CSV or JSON)."""
        answer = await services(request).commissioner_report_file(me.token, format, _end_of(day))
        kept = ("content-type", "content-disposition")
        headers = {k: v for k, v in answer.headers.items() if k.lower() in kept}
        return Response(answer.content, headers=headers)

    return r
