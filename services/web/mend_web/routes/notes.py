"""The practitioner's case notes (/cases/{id}/notes): the case's notes by kind, a form to write
one (with a small attachment: PDF, PNG, JPEG or plain text), one note opened on its own page
(the sessions service records the read before it answers), its attachment downloaded (recorded
too, never cached), and sharing a note with a participant. The service decides each step."""

from __future__ import annotations

import base64
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Depends, Form, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from mend_events.contracts.actors import PSEUDO_ID_PATTERN
from mend_events.contracts.catalog.sessions import NoteKind

from mend_web.pages import Viewer, render, services, viewer
from mend_web.services import ServiceError

Practitioner = Annotated[Viewer, Depends(viewer("practitioner"))]
CasePath = Annotated[str, Path(pattern=r"^case-[a-z0-9-]{3,60}$")]
NotePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
PersonOrNone = Annotated[str, Form(pattern=f"^(|{PSEUDO_ID_PATTERN[1:-1]})$")]
Person = Annotated[str, Form(pattern=PSEUDO_ID_PATTERN)]
# The sessions service takes 40 KiB; read a little more so a larger file is refused by it.
_READ_AT_MOST = 41 * 1024


async def _page(request: Request, me: Viewer, case_id: str, **extra: Any) -> Response:
    svc = services(request)
    case = await svc.case(me.token, case_id)  # only a case the sessions service shows them
    members = sorted({p["id"] for s in case.get("sessions", []) for p in s["participants"]}
                     | {case.get("harmed_person_id")} - {None})  # fmt: skip
    ctx = {"case_id": case_id, "notes": await svc.notes(me.token, case_id),
           "kinds": [str(k) for k in NoteKind], "members": members, **extra}  # fmt: skip
    return render(request, "practitioner/notes.html", ctx, status_code=extra.get("status", 200))


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/cases/{case_id}/notes")
    async def notes(request: Request, me: Practitioner, case_id: CasePath) -> Response:
        return await _page(request, me, case_id)

    @r.post("/cases/{case_id}/notes")
    async def write(
        request: Request,
        me: Practitioner,
        case_id: CasePath,
        kind: Annotated[NoteKind, Form()],
        text: Annotated[str, Form(min_length=1, max_length=20_000)],
        about: PersonOrNone = "",
        file: UploadFile | None = None,
    ) -> Response:
        body: dict[str, Any] = {"note_id": f"note-{uuid4().hex[:16]}", "kind": str(kind),
                                "about_id": about or None, "text": text}  # fmt: skip
        if file is not None and file.filename:
            raw = await file.read(_READ_AT_MOST)
            body["attachment"] = {
                "media_type": file.content_type or "",
                "content_base64": base64.b64encode(raw).decode("ascii"),
            }
        try:
            await services(request).command(me.token, "sessions", f"/cases/{case_id}/notes", body)
        except ServiceError as exc:
            if exc.status not in (409, 422):
                raise
            message = exc.reason or "The note could not be written."
            return await _page(request, me, case_id, problem=message, status=exc.status)
        return RedirectResponse(f"/cases/{case_id}/notes?done=written", status_code=303)

    @r.get("/cases/{case_id}/notes/{note_id}")
    async def note(
        request: Request, me: Practitioner, case_id: CasePath, note_id: NotePath
    ) -> Response:
        opened = await services(request).note(me.token, case_id, note_id)
        return render(request, "practitioner/note.html", {"case_id": case_id, "n": opened})

    @r.get("/cases/{case_id}/notes/{note_id}/attachment")
    async def attachment(
        request: Request, me: Practitioner, case_id: CasePath, note_id: NotePath
    ) -> Response:
        kind, content = await services(request).note_attachment(me.token, case_id, note_id)
        headers = {"Content-Disposition": "attachment", "Cache-Control": "no-store"}
        return Response(content, media_type=kind, headers=headers)

    @r.post("/cases/{case_id}/notes/{note_id}/share")
    async def share(
        request: Request, me: Practitioner, case_id: CasePath, note_id: NotePath, with_id: Person
    ) -> Response:
        path = f"/cases/{case_id}/notes/{note_id}/share"
        await services(request).command(me.token, "sessions", path, {"with_id": with_id})
        return RedirectResponse(f"/cases/{case_id}/notes?done=shared", status_code=303)

    return r
