"""The participant's letters and messages (/me/letters): write one in a letter exchange, a
shuttle or an unsent-letter session of theirs, and it goes to the facilitator to read; revise
what came back with a reason; then send what was approved, or keep it unsent. The letters
delivered to them are shown with their text. The sessions service decides every step (only the
author writes and sends, only while the session runs, nothing after a withdrawal or a stop)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from mend_web import participant_text as words
from mend_web.pages import Viewer, services
from mend_web.participant import CaseField, Participant, SessionField, _own_case, _page, _shown
from mend_web.participant_cases import ParticipantCases
from mend_web.participant_text import form_label
from mend_web.services import ServiceError

WRITTEN = ("letter", "indirect", "unsent_letter")
LetterField = Annotated[str, Form(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
Text = Annotated[str, Form(min_length=1, max_length=20_000)]
# The author's steps, each the sessions service's command of the same name.
VERBS = {"send": "deliver", "keep": "keep-unsent"}
Verb = Annotated[str, Path(pattern=r"^(send|keep)$")]


async def _letters(request: Request, me: Viewer, case_id: str) -> dict[str, Any]:
    svc = services(request)
    case = await _shown(svc.case_or_none(me.token, case_id))
    try:
        rows = await svc.letters(me.token, case_id)
    except ServiceError as exc:
        if exc.status != 403:
            raise
        rows = []
    letters = []
    for row in rows:
        opened = await svc.letter(me.token, case_id, row["letter_id"]) or {}
        letters.append({**row, **opened, "mine": row["author_id"] == me.person_id,
                        "status_text": words.letter_status(row["status"])})  # fmt: skip
    sessions = [
        {**s, "label": form_label(s["form"])}
        for s in case.get("sessions", [])
        if s.get("form") in WRITTEN and s.get("status") in ("scheduled", "running")
    ]
    return {"case_id": case_id, "letters": letters, "sessions": sessions}


def _cases(request: Request) -> ParticipantCases:
    return request.app.state.participant_cases


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/me/letters")
    async def letters(request: Request, me: Participant) -> Response:
        cases = await _cases(request).cases_of(me.agency, me.person_id)
        views = [await _letters(request, me, c) for c in cases]
        done = request.query_params.get("done")
        return _page(request, "letters.html", {"cases": views, "done": done, "words": words})

    @r.post("/me/letters")
    async def write(
        request: Request, me: Participant, case: CaseField, session: SessionField, content: Text
    ) -> Response:
        """A new letter, straight to the facilitator to read (a draft no one reads is no
        use to the author: they revise it if it comes back)."""
        await _own_case(request, me, case)
        svc, letter_id = services(request), f"letter-{_new_id()}"
        body = {"letter_id": letter_id, "session_id": session, "content": content}
        await svc.letter_command(me.token, case, None, "draft", body)
        await svc.letter_command(me.token, case, letter_id, "submit")
        return RedirectResponse("/me/letters?done=written", status_code=303)

    @r.post("/me/letters/revision")
    async def revise(
        request: Request, me: Participant, case: CaseField, letter: LetterField, content: Text
    ) -> Response:
        await _own_case(request, me, case)
        svc = services(request)
        await svc.letter_command(me.token, case, letter, "revise", {"content": content})
        await svc.letter_command(me.token, case, letter, "submit")
        return RedirectResponse("/me/letters?done=written", status_code=303)

    @r.post("/me/letters/{verb}")
    async def decide(
        request: Request, me: Participant, verb: Verb, case: CaseField, letter: LetterField
    ) -> Response:
        """Send an approved letter, or keep any letter not yet sent unsent."""
        await _own_case(request, me, case)
        await services(request).letter_command(me.token, case, letter, VERBS[verb])
        return RedirectResponse(f"/me/letters?done={verb}", status_code=303)

    return r


def _new_id() -> str:
    return uuid4().hex[:16]
