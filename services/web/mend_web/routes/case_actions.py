"""The practitioner's actions on the case page, each a form that works with htmx (the case's
part of the page swapped) and without script (a plain post, then 303 back to the page): add a
participant, record a preparation or an acknowledgement, schedule, start or complete a
session, record its agreement, raise a flag, record an assessment. Each goes to its service
with the practitioner's own token; the service decides. A field the page cannot read is named
with its reason; a service's refusal (409, 422) is shown as a plain message on its form."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from mend_web import case_view
from mend_web.case_forms import ACTIONS, FormProblem, agreement, choices
from mend_web.i18n import gettext as _
from mend_web.pages import Viewer, is_htmx, render, services, viewer
from mend_web.services import ServiceError

Practitioner = Annotated[Viewer, Depends(viewer("practitioner"))]
CasePath = Annotated[str, Path(pattern=r"^case-[a-z0-9-]{3,60}$")]
SessionPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
REFUSALS = (409, 422)
# How long an action waits for the case's read model to show what it wrote (it is a projection
# that catches up a moment later); the page is shown as it is after that.
_CATCH_UP, _STEP = 3.0, 0.1


async def page(
    request: Request, me: Viewer, case_id: str, *, problem: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:  # fmt: skip
    """The case page, or (for htmx) its case part only: the same template, one block."""
    ctx = await case_view.load(services(request), me.token, case_id)
    ctx["problem"] = problem or {}
    ctx["choices"] = choices(ctx["people"], ctx["registry"], me.person_id, ctx["risk"])
    block = "casebody" if is_htmx(request) else None
    # htmx swaps only a successful answer: a problem is shown in the swapped part instead.
    status = 200 if block else status_code
    return render(request, "practitioner/case.html", ctx, block=block, status_code=status)


async def _caught_up(request: Request, me: Viewer, case_id: str, answer: Any) -> None:
    """Wait (briefly) until the sessions service's case view has what a sessions command wrote:
    `answer` is its command answer, whose version is the case stream's."""
    version = answer.get("version") if isinstance(answer, dict) else None
    if not isinstance(version, int):
        return
    svc, waited = services(request), 0.0
    while waited < _CATCH_UP:
        doc = await svc.case_or_none(me.token, case_id)
        if doc and doc.get("version", 0) >= version:
            return
        await asyncio.sleep(_STEP)
        waited += _STEP


async def _assess(request: Request, me: Viewer, case_id: str, body: dict[str, Any]) -> None:
    """Start (or go on with the open one of the same stage), record each check, complete."""
    svc, base = services(request), f"/cases/{case_id}"
    risk = await svc.risk(me.token, case_id) or {}
    open_ = risk.get("open_assessment") or {}
    aid = str(open_.get("assessment_id") or "")
    if not aid or str(open_.get("stage")) != body["stage"]:
        aid = str(uuid4())
        start = {"assessment_id": aid, "stage": body["stage"]}
        await svc.command(me.token, "risk", f"{base}/assessments", start)
    for factor in body["factors"]:
        fact = {"assessment_id": aid, "factor": factor}
        await svc.command(me.token, "risk", f"{base}/risk-factors", fact)
    done = {"assessment_id": aid, **body["completion"]}
    await svc.command(me.token, "risk", f"{base}/assessment-completions", done)


async def _run(
    request: Request, me: Viewer, case_id: str, form: str, act: Any, sessions_command: bool
) -> Response:
    """Run `act` (the service calls); then back to the page, or the page with the problem.
    Only on a case the sessions service shows this practitioner (its owner decides who is
    allocated): anyone else is refused before a form becomes a command or any service is
    written to."""
    await services(request).case(me.token, case_id)
    try:
        answer = await act()
    except FormProblem as p:
        problem = {"form": form, "fields": p.fields}
        return await page(request, me, case_id, problem=problem, status_code=422)
    except ServiceError as exc:
        if exc.status not in REFUSALS:
            raise
        message = exc.reason or _("The service refused this. Nothing was changed.")
        problem = {"form": form, "message": message}
        return await page(request, me, case_id, problem=problem, status_code=exc.status)
    if sessions_command:
        await _caught_up(request, me, case_id, answer)
    if not is_htmx(request):
        anchor = ACTIONS[form].anchor if form in ACTIONS else form
        return RedirectResponse(f"/cases/{case_id}#{anchor}", status_code=303)
    return await page(request, me, case_id, problem={"form": form, "done": True})


def _form_route(r: APIRouter, name: str) -> None:
    action = ACTIONS[name]

    async def post(request: Request, me: Practitioner, case_id: CasePath) -> Response:
        form = await request.form()

        async def act() -> Any:
            body = dict(action.body(form, me.person_id))
            if name == "assessments":
                return await _assess(request, me, case_id, body)
            path = f"/cases/{case_id}{action.path}"
            return await services(request).command(me.token, action.service, path, body)

        return await _run(request, me, case_id, name, act, action.service == "sessions")

    r.add_api_route(f"/cases/{{case_id}}/{name}", post, methods=["POST"], name=f"case_{name}")


def _session_route(r: APIRouter, verb: str) -> None:
    async def post(
        request: Request, me: Practitioner, case_id: CasePath, session_id: SessionPath
    ) -> Response:
        path = f"/cases/{case_id}/sessions/{session_id}/{verb}"
        form = await request.form()

        async def act() -> Any:
            body = agreement(form, me.person_id) if verb == "agreement" else None
            return await services(request).command(me.token, "sessions", path, body)

        return await _run(request, me, case_id, f"session-{session_id}", act, True)

    r.add_api_route(
        f"/cases/{{case_id}}/sessions/{{session_id}}/{verb}", post, methods=["POST"],
        name=f"session_{verb}",
    )  # fmt: skip


def register(r: APIRouter) -> None:
    for name in ACTIONS:
        _form_route(r, name)
    for verb in ("start", "complete", "agreement"):
        _session_route(r, verb)
