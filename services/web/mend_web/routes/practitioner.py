"""The practitioner's pages: their cases (the hub's caseload, each case as the web app's case
index has it), a case (case_view: timeline, consents, risk, each contact gate met or unmet
with its reason, sessions, agreement, after-care; case_actions: its forms) and halting a
session: one click, no reason asked, htmx swapping the session's row (a plain form post
without script). Every read and action goes to the services with the practitioner's own
token; the services decide."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from mend_web.index.words import WORDS
from mend_web.pages import Viewer, is_htmx, render, services, viewer
from mend_web.routes import case_actions

# Who these pages are for (the services decide which cases and what in them).
ROLES = ("practitioner",)
Practitioner = Annotated[Viewer, Depends(viewer(*ROLES))]
CasePath = Annotated[str, Path(pattern=r"^case-[a-z0-9-]{3,60}$")]
SessionPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/cases")
    async def my_cases(request: Request, me: Practitioner) -> Response:
        """The hub's caseload (who is allocated now is the hub's word), each case as the web
        app's index has it: one query, never a call to every service per case."""
        load = await services(request).caseload(me.token, me.person_id)
        indexed = await request.app.state.index.entries(me.agency, [c["case_id"] for c in load])
        rows = [{"allocation": a, "case": indexed.get(a["case_id"])} for a in load]
        return render(request, "practitioner/cases.html", {"rows": rows, **WORDS})

    @r.get("/cases/{case_id}")
    async def case_page(request: Request, me: Practitioner, case_id: CasePath) -> Response:
        return await case_actions.page(request, me, case_id)

    @r.post("/cases/{case_id}/sessions/{session_id}/halt")
    async def halt(
        request: Request, me: Practitioner, case_id: CasePath, session_id: SessionPath
    ) -> Response:
        await services(request).halt(me.token, case_id, session_id)
        if not is_htmx(request):
            return RedirectResponse(f"/cases/{case_id}#session-{session_id}", status_code=303)
        # The service answered that the session is halted (written now, or already): the
        # fragment says so, whether or not the case's read model has caught up yet.
        case = await services(request).case(me.token, case_id)
        found = [s for s in case["sessions"] if s["session_id"] == session_id]
        session = {**found[0], "status": "halted"} if found else {"session_id": session_id}
        ctx = {"case": case, "s": session, "gates": {}, "halted_now": True, "problem": {}}
        return render(request, "practitioner/case.html", ctx, block="session")

    case_actions.register(r)
    return r
