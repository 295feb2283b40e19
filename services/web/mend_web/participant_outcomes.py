"""The participant's research questions (/me/outcomes, issue 21): a harmed or responsible person
who agreed to outcome research answers their instrument (mend_events.instruments) at one of its
points. Answering is theirs to choose: the page says so, keeps nothing until they send a whole
answer set, and stops their research consent with one click (the same withdrawal as /me, no
reason asked). Without research consent they are told plainly that nothing is asked of them,
never shown an error. The aftercare service decides every answer with their own token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from mend_events import instruments
from mend_events.instruments import Instrument

from mend_web import instrument_forms as forms
from mend_web.pages import Viewer, services
from mend_web.participant import CaseField, Participant, _cases, _own_case, _page, _shown
from mend_web.services import FieldRefused, ServiceError

InstrumentField = Annotated[str, Form(pattern=instruments.INSTRUMENT_REF)]
PointField = Annotated[str, Form(pattern=r"^[a-z0-9_]{1,20}$")]


async def _case(
    request: Request, me: Viewer, case_id: str, problem: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One case's part of the page: their instrument (if their role answers one) and whether
    their research consent is in force now (the consent service shows them their own)."""
    instrument = forms.for_role(me.role)
    try:
        consents = await _shown(services(request).consents(me.token, case_id))
    except ServiceError as exc:
        if exc.status != 503:
            raise
        consents = None  # the consent service is away: said so, never guessed
    grants = list((consents or {}).get("grants", []))
    return {
        "case_id": case_id,
        "instrument": forms.view(instrument) if instrument else None,
        "consents_known": consents is not None,
        "consented": forms.has_research_consent(grants, me.person_id),
        "problem": problem if problem and problem.get("case") == case_id else None,
    }


async def _outcomes_page(
    request: Request, me: Viewer, problem: dict[str, Any] | None = None, status: int = 200
) -> Response:
    views = [await _case(request, me, c, problem) for c in await _cases(request, me)]
    done = request.query_params.get("done")
    return _page(request, "outcomes.html", {"cases": views, "done": done}, status)


def _theirs(ref: str, role: str) -> Instrument | None:
    """The instrument `ref` names, if it is one the viewer's role answers."""
    try:
        instrument = instruments.parse_ref(ref)
    except instruments.UnknownInstrument:
        return None
    return instrument if forms.RESPONDENT_OF.get(role) is instrument.respondent else None


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/me/outcomes")
    async def outcomes(request: Request, me: Participant) -> Response:
        return await _outcomes_page(request, me)

    @r.post("/me/outcomes")
    async def answer(
        request: Request, me: Participant, case: CaseField, instrument: InstrumentField,
        point: PointField,
    ) -> Response:  # fmt: skip
        await _own_case(request, me, case)
        chosen = _theirs(instrument, me.role)
        if chosen is None or point not in chosen.points:
            raise ServiceError(422)  # not a form this page gave them
        answers = forms.answers_from(chosen, await request.form())
        missing = forms.unanswered(chosen, answers)
        if missing:
            problem = {"case": case, "missing": missing, "point": point, "given": answers}
            return await _outcomes_page(request, me, problem, 422)
        body = {"instrument": chosen.ref, "point": point, "about_id": me.person_id,
                "answers": answers}  # fmt: skip
        try:
            await services(request).answer_instrument(me.token, case, body)
        except FieldRefused as exc:
            # Said plainly: already answered for that time (the point is one of the
            # instrument's: checked above), or research consent gone now.
            kind = {"point": "answered", "research_consent": "no_consent"}.get(exc.field, "")
            problem = {"case": case, "kind": kind or "refused", "point": point,
                       "given": answers}  # fmt: skip
            return await _outcomes_page(request, me, problem, 422)
        return RedirectResponse("/me/outcomes?done=answered", status_code=303)

    return r
