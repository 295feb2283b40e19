"""The sessions service's HTTP API. Every call carries a verified identity; the access policy
decides whether the caller may address the case at all, then the pure domain decides; contact
sessions pass the gates (R4) on this service's views of consent and risk."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from mend_events.contracts.actors import PARTICIPANT_ROLES
from mend_events.errors import Forbidden, NotFound, Unavailable
from mend_events.security.disclosure import for_viewer
from mend_events.security.identity import Identity
from mend_events.web.commands import (
    Caller,
    CaseCommand,
    CaseId,
    CommandCall,
    Ctx,
    IdempotencyKey,
    Run,
    SessionId,
    app_service,
    command_response,
    command_routes,
)

from mend_sessions import access, items_api, records
from mend_sessions import commands as c
from mend_sessions.domain.state import CaseState
from mend_sessions.service import SessionsService

Svc = Annotated[SessionsService, Depends(app_service)]


def _written(request: Request, result: Any) -> None:
    """Wake the projections so the case state catches up at once (polling remains the truth)."""
    runtime = getattr(request.app.state, "runtime", None)
    if result.events and runtime is not None:
        runtime.wake_projections()


async def _on_case(
    service: SessionsService,
    identity: Identity,
    action: str,
    case_id: str,
    *,
    session_id: str | None = None,
) -> CaseState:
    """Authorise `action` on an open (or closed) case; the harmed person's record is the
    case's, so their rules (own_record) name the harmed person."""
    state = await service.require_case(case_id)
    session = state.sessions.get(session_id) if session_id else None
    access.authorize_on_case(
        identity, action, state, participants=session.participant_ids if session else None
    )
    return state


async def _execute(call: CommandCall, command: Any) -> Any:
    """The command through the service (which gates contact sessions, R4)."""
    service: SessionsService = call.service
    args = (call.case_id, command, call.ctx, call.idempotency_key)
    if isinstance(command, c.ChooseFacilitator):
        result = await service.choose_facilitator(*args)
    elif isinstance(command, c.ScheduleSession):
        result = await service.schedule(*args)
    elif isinstance(command, c.StartSession):
        result = await service.start(*args)
    else:
        result = await service.execute(*args)
    _written(call.request, result)
    return result


def _acting(action: str) -> Run:
    """Run a command as `action` on the case (and on the session in the path, if any)."""

    async def run(call: CommandCall, command: Any) -> Any:
        session_id = call.ids.get("session_id")
        await _on_case(call.service, call.identity, action, call.case_id, session_id=session_id)
        return await _execute(call, command)

    return run


def _writing(action: str) -> Run:
    """Run a letter command as `action` on the session the letter belongs to: its parties
    write, its practitioners review. An unknown letter or session: the case's people may ask,
    and the domain answers 404."""

    async def run(call: CommandCall, command: Any) -> Any:
        state = await call.service.require_case(call.case_id)
        letter = state.letters.get(getattr(command, "letter_id", ""))
        session_id = letter.session_id if letter else getattr(command, "session_id", "")
        session = state.sessions.get(session_id)
        people = session.participant_ids if session else records.people_of(state)
        access.authorize_on_case(call.identity, action, state, participants=people)
        return await _execute(call, command)

    return run


def _on_letter(command: type) -> Any:
    """A letter command from the letter id in the path (and the body, if any)."""

    def build(body: Any = None, letter_id: str = "") -> Any:
        return command(letter_id=letter_id, **(body.model_dump() if body is not None else {}))

    return build


async def _noting(call: CommandCall, command: c.WriteNote) -> Any:
    """A note with its attachment stored first (the service), by the allocated team."""
    state = await call.service.require_case(call.case_id)
    access.authorize_on_case(call.identity, "case.note.write", state)
    result = await call.service.write_note(call.case_id, command, call.ctx, call.idempotency_key)
    _written(call.request, result)
    return result


def _referring(action: str) -> Run:
    """A referral or its outcome: on a case or before any (the case's agency, else the first
    referral's, else the caller's own); `person_id` whom it refers."""

    async def run(call: CommandCall, command: Any) -> Any:
        access.authorize(
            call.identity,
            action,
            case_id=call.case_id,
            agency=await call.service.case_agency(call.case_id),
            person_id=getattr(command, "harmed_person_id", None),
        )
        return await _execute(call, command)

    return run


async def _opening(call: CommandCall, command: c.OpenCase) -> Any:
    access.authorize(
        call.identity,
        "case.open",
        case_id=call.case_id,
        agency=None,
        person_id=command.harmed_person_id or call.identity.person_id,
    )
    return await _execute(call, command)


async def _inviting(call: CommandCall, command: c.RecordInvitation) -> Any:
    access.authorize(
        call.identity,
        "case.invite",
        case_id=call.case_id,
        agency=await call.service.case_agency(call.case_id),
    )
    return await _execute(call, command)


_SESSION = "sessions/{session_id}"
_LETTER = "letters/{letter_id}"
_WRITE, _REVIEW = _writing("session.letter.write"), _writing("session.letter.review")

# The commands on a case, each run as its action on the case (and on the session in the path),
# or by its own `run`: POST /cases/{case_id}<path>.
CASE_COMMANDS = (
    # opening, and a referral before it
    CaseCommand("/open", "open_case", None, body=c.OpenCase, run=_opening,
                summary="Open a case (harmed person)"),
    CaseCommand("/invitations", "invite", None, body=c.RecordInvitation, run=_inviting,
                summary="Record a referral as an invitation the harmed person may take up or "
                "ignore"),
    CaseCommand("/referrals", "refer", None, body=c.RecordReferral,
                run=_referring("referral.record"),
                summary="Record a referral or enquiry: route, referrer, contact agreed"),
    CaseCommand("/referrals/{referral_id}/outcome", "referral_outcome", None,
                body=c.ReferralOutcomeBody, run=_referring("referral.outcome"),
                build=lambda body, referral_id: c.RecordReferralOutcome(
                    referral_id=referral_id, **body.model_dump()),
                summary="A referral's outcome: taken up, declined, not reachable, withdrawn"),
    # the case's process
    CaseCommand("/facilitator", "choose", "lead.facilitator", body=c.ChooseFacilitator,
                summary="The harmed person chooses (or changes) the facilitator"),
    CaseCommand("/preferences", "prefer", "lead.preferences", body=c.SetPreferences,
                summary="The harmed person's preferences: pace, forms, speaking order, who "
                "takes part"),
    CaseCommand("/pause", "pause", "case.pause", body=c.PauseCase, optional_body=True,
                build=lambda body: body or c.PauseCase(), summary="Pause the case"),
    CaseCommand("/resume", "resume", "case.resume", build=c.ResumeCase,
                summary="Resume a paused case"),
    CaseCommand("/participants", "enrol", "case.enrol", body=c.EnrolParticipant,
                summary="Enrol a participant the harmed person agreed to (practitioner or "
                "coordinator)"),
    CaseCommand("/preparations", "prepare", "case.prepare", body=c.RecordPreparation,
                summary="A preparation session was held with one party (practitioner)"),
    CaseCommand("/responsible-person-outcome", "rp_outcome", "case.rp_outcome",
                body=c.RecordResponsiblePersonOutcome,
                summary="The responsible person declined or is not reachable: the forms "
                "without them are offered"),
    CaseCommand("/close", "close", "case.close", body=c.CloseCase,
                summary="Close the case (active sessions are halted on the record)"),
    # contact sessions
    CaseCommand("/sessions", "schedule", "session.schedule", body=c.ScheduleSession,
                summary="Schedule a contact session through every gate (R4)"),
    CaseCommand(f"/{_SESSION}/start", "start", "session.start", build=c.StartSession,
                summary="Start a scheduled session: every gate is checked again (R4)"),
    CaseCommand(f"/{_SESSION}/complete", "complete", "session.complete", build=c.CompleteSession,
                summary="Complete a running session (facilitator)"),
    CaseCommand(f"/{_SESSION}/halt", "halt", "session.halt", build=c.HaltSession,
                summary="Halt a session: any participant or practitioner, no reason owed (R3)"),
    CaseCommand(f"/{_SESSION}/agreement", "agree", "session.agree", body=c.AgreementBody,
                build=lambda body, session_id: c.RecordAgreement(
                    session_id=session_id, **body.model_dump()),
                summary="Record the outcome agreement, consented by every party present"),
    # letters and shuttle messages: drafted, reviewed, then delivered or kept unsent
    CaseCommand("/letters", "draft_letter", None, body=c.DraftLetter, run=_WRITE,
                summary="Draft a letter or message in a written session (its author, a party)"),
    CaseCommand(f"/{_LETTER}/revise", "revise_letter", None, body=c.ReviseLetterBody,
                build=_on_letter(c.ReviseLetter), run=_WRITE,
                summary="Revise a draft or a returned letter (its author)"),
    CaseCommand(f"/{_LETTER}/submit", "submit_letter", None, build=_on_letter(c.SubmitLetter),
                run=_WRITE, summary="Ask the facilitator to review the letter (its author)"),
    CaseCommand(f"/{_LETTER}/return", "return_letter", None, body=c.ReturnLetterBody,
                build=_on_letter(c.ReturnLetter), run=_REVIEW,
                summary="Return a submitted letter to its author with a reason (facilitator)"),
    CaseCommand(f"/{_LETTER}/approve", "approve_letter", None, build=_on_letter(c.ApproveLetter),
                run=_REVIEW, summary="Approve a submitted letter (facilitator)"),
    CaseCommand(f"/{_LETTER}/deliver", "deliver_letter", None, build=_on_letter(c.DeliverLetter),
                run=_WRITE, summary="Deliver an approved letter to the other party (its author; "
                "its session running)"),
    # case notes: sealed, shared only by a practitioner's decision, every read recorded
    CaseCommand("/notes", "write_note", None, body=c.WriteNote, run=_noting,
                summary="Write a case note, with an attachment if any (the allocated team)"),
    CaseCommand("/notes/{note_id}/share", "share_note", "case.note.share", body=c.ShareNoteBody,
                build=lambda body, note_id: c.ShareNote(note_id=note_id, **body.model_dump()),
                summary="Show a note to a participant of the case (a practitioner)"),
    CaseCommand(f"/{_LETTER}/keep-unsent", "keep_letter_unsent", None,
                build=_on_letter(c.KeepLetterUnsent), run=_WRITE,
                summary="Keep the letter unsent: it is never delivered (its author)"),
)  # fmt: skip


def router() -> APIRouter:
    api = APIRouter(tags=["sessions"])
    command_routes(
        api,
        "/cases/{case_id}",
        (*CASE_COMMANDS, *items_api.ITEM_COMMANDS),
        run_as=_acting,
        ids=dict.fromkeys(
            ("session_id", "letter_id", "note_id", "referral_id", *items_api.ITEM_IDS), SessionId
        ),
        case_id=CaseId,
    )

    # --- reads ---------------------------------------------------------------------------

    @api.get("/cases/{case_id}", summary="The case's state (participants: their own sessions)")
    async def case_state(request: Request, service: Svc, case_id: CaseId, identity: Caller):
        state = await service.require_case(case_id)
        limited = False
        try:
            access.authorize_on_case(identity, "case.read", state)
        except Forbidden:
            if identity.role not in PARTICIPANT_ROLES:
                raise
            access.authorize_on_case(
                identity, "session.read", state, participants=records.people_of(state)
            )
            limited = True
        doc = await service.case_document(case_id)
        if doc is None:
            raise Unavailable("the case's state is being brought up to date; try again shortly")
        # What this person may know (one rule for every participant-visible read).
        return for_viewer(identity, _only_own(doc, identity.person_id) if limited else doc)

    @api.get(
        "/cases/{case_id}/sessions/{session_id}/gates",
        summary="A scheduled session's contact gates now: each met or unmet, with its reasons",
    )
    async def session_gates(service: Svc, case_id: CaseId, session_id: SessionId, identity: Caller):
        # Staff only (the allocated practitioners; auditors read): the reasons name other
        # participants' consent, which no participant may learn through this read.
        state = await _on_case(service, identity, "session.gates.read", case_id)
        gates = await service.gates(state, session_id)
        if gates is None:
            raise NotFound("no scheduled session with this id in this case")
        return {"case_id": case_id, "session_id": session_id, "gates": gates}

    records.add_routes(api)
    items_api.add_routes(api)

    # --- the practitioner registry --------------------------------------------------------

    @api.post(
        "/practitioners",
        status_code=201,
        summary="Register a practitioner's qualifications (coordinator)",
    )
    async def register(
        request: Request,
        service: Svc,
        body: c.RegisterPractitioner,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ):
        # Into the caller's own agency's registry only (the service picks its stream).
        access.authorize(identity, "registry.register", case_id=None, agency=identity.agency)
        result = await service.register(body, ctx, idempotency_key)
        _written(request, result)
        return command_response(response, "registry", result)

    @api.get("/practitioners", summary="The practitioner registry (to choose a facilitator from)")
    async def practitioners(service: Svc, identity: Caller):
        # The caller's own agency's entries, never another agency's.
        access.authorize(identity, "registry.list", case_id=None, agency=identity.agency)
        rows = await service.practitioner_list(identity.agency)
        return for_viewer(identity, {"practitioners": rows})

    return api


def _only_own(doc: dict[str, Any], person_id: str) -> dict[str, Any]:
    """What a participant other than the harmed person sees: the case's status and the sessions
    they take part in. Never the harmed person's preferences or anyone else's sessions (R8)."""
    return {
        "case_id": doc["case_id"],
        "version": doc["version"],
        "status": doc["status"],
        "sessions": [
            s for s in doc["sessions"] if any(p["id"] == person_id for p in s["participants"])
        ],
    }
