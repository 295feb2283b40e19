"""The sessions service's reads of letters and case notes (api.py adds them to its router):
letters with their states, one letter's text for who may open it; notes' ids and codes, one
note's text or attachment after its read is recorded (the service)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from mend_events.contracts.actors import PARTICIPANT_ROLES
from mend_events.errors import NotFound
from mend_events.security.disclosure import for_viewer
from mend_events.security.identity import Identity
from mend_events.web.commands import Caller, CaseId, Ctx, SessionId, app_service

from mend_sessions import access, notes
from mend_sessions.domain.state import CaseState
from mend_sessions.letters import readers
from mend_sessions.service import SessionsService

Svc = Annotated[SessionsService, Depends(app_service)]


def people_of(state: CaseState) -> frozenset[str]:
    """Everyone taking part in a session of the case or prepared for one."""
    people = {p for s in state.sessions.values() for p in s.participant_ids}
    return frozenset(people | set(state.prepared))


async def _note_reader(
    service: SessionsService, identity: Identity, case_id: str, note_id: str
) -> CaseState:
    state = await service.require_case(case_id)
    found = state.notes.get(note_id)
    shared = found.shared_with if found else frozenset()
    access.authorize_on_case(identity, "case.note.open", state, participants=shared)
    if found is None:
        raise NotFound("no such note in this case", field="note_id")
    return state


def add_routes(api: APIRouter) -> None:
    @api.get("/cases/{case_id}/letters", summary="The case's letters: ids and states")
    async def letters(service: Svc, case_id: CaseId, identity: Caller):
        state = await service.require_case(case_id)
        access.authorize_on_case(
            identity, "session.letter.list", state, participants=people_of(state)
        )
        return for_viewer(
            identity, {"case_id": case_id, "letters": await service.letters(state, identity)}
        )

    @api.get(
        "/cases/{case_id}/letters/{letter_id}",
        summary="One letter with its text (author; recipient once delivered; reviewers)",
    )
    async def letter(service: Svc, case_id: CaseId, letter_id: SessionId, identity: Caller):
        state = await service.require_case(case_id)
        found = state.letters.get(letter_id)
        people = readers(found) if found else frozenset()
        access.authorize_on_case(identity, "session.letter.open", state, participants=people)
        return for_viewer(identity, await service.letter(state, letter_id, identity))

    @api.get("/cases/{case_id}/notes", summary="The case's notes: ids and codes, no text")
    async def case_notes(service: Svc, case_id: CaseId, identity: Caller):
        state = await service.require_case(case_id)
        access.authorize_on_case(identity, "case.note.list", state)
        rows = notes.note_rows(state)
        if identity.role in PARTICIPANT_ROLES:  # only what was shared with them
            rows = [{"note_id": r["note_id"], "kind": r["kind"]} for r in rows
                    if identity.person_id in r["shared_with"]]  # fmt: skip
        return {"case_id": case_id, "notes": rows}

    @api.get("/cases/{case_id}/notes/{note_id}", summary="Open a note (the read is recorded)")
    async def note(service: Svc, case_id: CaseId, note_id: SessionId, identity: Caller, ctx: Ctx):
        state = await _note_reader(service, identity, case_id, note_id)
        return await service.open_note(state.case_id, note_id, ctx)

    @api.get(
        "/cases/{case_id}/notes/{note_id}/attachment",
        summary="A note's attachment (the read is recorded; gone once erased)",
    )
    async def attachment(
        service: Svc, case_id: CaseId, note_id: SessionId, identity: Caller, ctx: Ctx
    ) -> Response:
        state = await _note_reader(service, identity, case_id, note_id)
        found = await service.open_note(state.case_id, note_id, ctx, attachment=True)
        if found is None or found[1] is None:
            raise NotFound("this attachment cannot be opened (erased, or never stored)")
        headers = {"Cache-Control": "no-store", "Content-Disposition": "attachment"}
        return Response(found[1], media_type=found[0], headers=headers)
