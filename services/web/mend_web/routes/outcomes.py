"""The practitioner's outcome follow-up of a case (/cases/{id}/outcomes, issue 21): the agency's
reoffending follow-up about the responsible person, recorded at the instrument's set points from
the sources the agency holds (a closed set of answers, never a narrative), and only while he
has a research consent in force. Whom it is about comes from the case (the sessions service),
never from the form; the aftercare service decides (a practitioner only, never overwritten).
With htmx the follow-up part is swapped; without script a plain post, then 303 back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from mend_events import instruments
from mend_events.instruments import Respondent

from mend_web import instrument_forms as forms
from mend_web.case_view import _part
from mend_web.i18n import gettext as _
from mend_web.pages import Viewer, is_htmx, render, services, viewer
from mend_web.services import FieldRefused

Practitioner = Annotated[Viewer, Depends(viewer("practitioner"))]
CasePath = Annotated[str, Path(pattern=r"^case-[a-z0-9-]{3,60}$")]
InstrumentField = Annotated[str, Form(pattern=instruments.INSTRUMENT_REF)]
PointField = Annotated[str, Form(pattern=r"^[a-z0-9_]{1,20}$")]
FOLLOW_UP = Respondent.AGENCY_ABOUT_RESPONSIBLE_PERSON
RP = "responsible_person"


def _responsible(case: dict[str, Any], grants: list[dict[str, Any]]) -> str | None:
    """The case's responsible person: as the case records him, or as his own consents do
    (before the sessions service names him)."""
    named = case.get("responsible_person_id")
    if named:
        return str(named)
    found = {g["participant_id"] for g in grants if g.get("participant_role") == RP}
    return found.pop() if len(found) == 1 else None


async def _page(
    request: Request, me: Viewer, case_id: str, *, problem: dict[str, Any] | None = None,
    status: int = 200, done: str | None = None,
) -> Response:  # fmt: skip
    svc = services(request)
    case = await svc.case(me.token, case_id)  # only a case the sessions service shows them
    consents = await _part(svc.consents(me.token, case_id))
    grants = list((consents or {}).get("grants", []))
    responsible = _responsible(case, grants)
    instrument = forms.current(FOLLOW_UP)
    ctx = {
        "case_id": case_id,
        "responsible": responsible,
        "consents_known": consents is not None,
        "consented": bool(responsible) and forms.has_research_consent(grants, responsible),
        "instrument": forms.view(instrument) if instrument else None,
        "problem": problem or {},
        "done": done or request.query_params.get("done"),
    }
    if is_htmx(request):  # htmx swaps only a successful answer: the part, problem and all
        return render(request, "practitioner/outcomes.html", ctx, block="followup")
    return render(request, "practitioner/outcomes.html", ctx, status_code=status)


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/cases/{case_id}/outcomes")
    async def outcomes(request: Request, me: Practitioner, case_id: CasePath) -> Response:
        return await _page(request, me, case_id)

    @r.post("/cases/{case_id}/outcomes")
    async def record(
        request: Request, me: Practitioner, case_id: CasePath, instrument: InstrumentField,
        point: PointField,
    ) -> Response:  # fmt: skip
        try:
            chosen = instruments.parse_ref(instrument)
        except instruments.UnknownInstrument:
            chosen = None
        if chosen is None or chosen.respondent is not FOLLOW_UP:
            problem = {"message": _("Not a follow-up this page records.")}
            return await _page(request, me, case_id, problem=problem, status=422)
        svc = services(request)
        case = await svc.case(me.token, case_id)
        consents = await _part(svc.consents(me.token, case_id))
        responsible = _responsible(case, list((consents or {}).get("grants", [])))
        if not responsible:
            problem = {"message": _("The case has no responsible person to follow up.")}
            return await _page(request, me, case_id, problem=problem, status=422)
        answers = forms.answers_from(chosen, await request.form())
        missing = forms.unanswered(chosen, answers)
        if missing:
            problem = {"missing": missing, "point": point, "given": answers}
            return await _page(request, me, case_id, problem=problem, status=422)
        body = {"instrument": chosen.ref, "point": point,
                "about_id": responsible, "answers": answers}  # fmt: skip
        try:
            await services(request).answer_instrument(me.token, case_id, body)
        except FieldRefused as exc:
            problem = {"message": exc.reason or _("That could not be done."), "point": point,
                       "given": answers}  # fmt: skip
            return await _page(request, me, case_id, problem=problem, status=422)
        if is_htmx(request):
            return await _page(request, me, case_id, done="recorded")
        return RedirectResponse(f"/cases/{case_id}/outcomes?done=recorded", status_code=303)

    return r
