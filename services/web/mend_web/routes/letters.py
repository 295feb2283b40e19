"""The practitioner's letters page of a case (/cases/{id}/letters): every letter and message
with its state, the text of those waiting for review, and the review itself: approve, or return
to the author with a reason (and, if needed, a note only the author reads). The sessions
service decides (only the session's facilitator reviews; a stopped letter says what stopped
it). A refusal is shown as the service's plain reason on the page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from mend_events.contracts.catalog.sessions import ReturnReason

from mend_web.pages import Viewer, render, services, viewer
from mend_web.services import ServiceError

Practitioner = Annotated[Viewer, Depends(viewer("practitioner"))]
CasePath = Annotated[str, Path(pattern=r"^case-[a-z0-9-]{3,60}$")]
LetterPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
Note = Annotated[str, Form(max_length=2_000)]


async def _page(request: Request, me: Viewer, case_id: str, **extra: Any) -> Response:
    svc = services(request)
    await svc.case(me.token, case_id)  # only a case the sessions service shows them
    letters = []
    for row in await svc.letters(me.token, case_id):
        opened = {}
        if row["status"] == "submitted":
            opened = await svc.letter(me.token, case_id, row["letter_id"]) or {}
        letters.append({**row, **opened})
    ctx = {"case_id": case_id, "letters": letters, "reasons": [str(r) for r in ReturnReason],
           **extra}  # fmt: skip
    return render(request, "practitioner/letters.html", ctx, status_code=extra.get("status", 200))


async def _review(
    request: Request, me: Viewer, case_id: str, letter_id: str, verb: str, body: Any = None
) -> Response:
    try:
        await services(request).letter_command(me.token, case_id, letter_id, verb, body)
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise
        return await _page(request, me, case_id, problem=exc.reason or "-", status=exc.status)
    return RedirectResponse(f"/cases/{case_id}/letters#letter-{letter_id}", status_code=303)


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/cases/{case_id}/letters")
    async def letters(request: Request, me: Practitioner, case_id: CasePath) -> Response:
        return await _page(request, me, case_id)

    @r.post("/cases/{case_id}/letters/{letter_id}/approve")
    async def approve(
        request: Request, me: Practitioner, case_id: CasePath, letter_id: LetterPath
    ) -> Response:
        return await _review(request, me, case_id, letter_id, "approve")

    @r.post("/cases/{case_id}/letters/{letter_id}/return")
    async def give_back(
        request: Request,
        me: Practitioner,
        case_id: CasePath,
        letter_id: LetterPath,
        reason: Annotated[ReturnReason, Form()],
        note: Note = "",
    ) -> Response:
        body = {"reason": str(reason), "note": note.strip() or None}
        return await _review(request, me, case_id, letter_id, "return", body)

    return r
