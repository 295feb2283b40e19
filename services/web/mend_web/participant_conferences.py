"""A participant's community team conferences (/me/conferences): the harmed person sees every
conference of her case, with its minutes, and gives her word on each community member invited
(nobody takes part until she agrees; she may change her mind at any time); a member of the case
invited to a conference sees that one, and the minutes of the meetings they attended. The
aftercare service decides what each sees."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from mend_events.contracts.actors import PSEUDO_ID_PATTERN

from mend_web.pages import services
from mend_web.participant import CaseField, Participant, _cases, _own_case, _page, _shown

ConferenceField = Annotated[str, Form(pattern=r"^conf-[A-Za-z0-9_-]{4,64}$")]
MemberField = Annotated[str, Form(pattern=PSEUDO_ID_PATTERN)]
AnswerField = Annotated[str, Form(pattern=r"^(agreed|refused)$")]


async def _conferences(request: Request, me: Any, case_id: str) -> dict[str, Any]:
    found = await _shown(services(request).conferences_or_none(me.token, case_id))
    return {"case_id": case_id, "conferences": list(found.get("conferences", []))}


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/me/conferences")
    async def conferences(request: Request, me: Participant) -> Response:
        views = [await _conferences(request, me, c) for c in await _cases(request, me)]
        ctx = {"cases": [v for v in views if v["conferences"]], "me_id": me.person_id,
               "done": request.query_params.get("done")}  # fmt: skip
        return _page(request, "conferences.html", ctx)

    @r.post("/me/conferences/answer")
    async def answer(
        request: Request, me: Participant, case: CaseField, conference: ConferenceField,
        member: MemberField, answer: AnswerField,
    ) -> Response:  # fmt: skip
        """Her word on one member's invitation: no reason asked."""
        await _own_case(request, me, case)
        path = f"/{conference}/members/{member}/answer"
        await services(request).conference_command(me.token, case, path, {"answer": answer})
        return RedirectResponse(f"/me/conferences?done={answer}", status_code=303)

    return r
