"""The sessions service's HTTP API. Every call carries a verified identity; the access policy
decides whether the caller may address the case at all, then the pure domain decides; contact
sessions pass the gates (R4) on this service's views of consent and risk."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from mend_events.errors import Forbidden, Unavailable
from mend_events.http import Caller, Ctx, IdempotencyKey
from mend_events.identity import Identity
from mend_events.identity_types import PARTICIPANT_ROLES, PseudoId

from mend_sessions import access
from mend_sessions import commands as c
from mend_sessions.service import SessionsService
from mend_sessions.state import CaseState

CaseId = Annotated[str, PseudoId]
SessionId = Annotated[str, PseudoId]


def command_response(response: Response, stream_id: str, result: Any) -> dict[str, Any]:
    response.status_code = 201 if result.events else 200
    return {
        "case_id": stream_id,
        "version": result.version,
        "events": [{"event_id": str(e.event_id), "type": e.event_type} for e in result.events],
    }


def _service(request: Request) -> SessionsService:
    return request.app.state.service


Svc = Annotated[SessionsService, Depends(_service)]


def _written(request: Request, result: Any) -> None:
    """Wake the projections so the case state catches up at once (polling remains the truth)."""
    runtime = getattr(request.app.state, "runtime", None)
    if result.events and runtime is not None:
        runtime.wake_projections()


def _people(state: CaseState) -> frozenset[str]:
    people = {p for s in state.sessions.values() for p in s.participant_ids}
    return frozenset(people | set(state.prepared))


def router() -> APIRouter:
    api = APIRouter(tags=["sessions"])

    async def on_case(
        request: Request,
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
        access.authorize(
            identity,
            action,
            case_id=case_id,
            agency=state.opened.agency if state.opened else None,
            person_id=state.harmed_person_id,
            participants=session.participant_ids if session else None,
        )
        return state

    # --- the case ------------------------------------------------------------------------

    @api.post("/cases/{case_id}/open", status_code=201, summary="Open a case (harmed person)")
    async def open_case(
        request: Request,
        service: Svc,
        case_id: CaseId,
        body: c.OpenCase,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ):
        access.authorize(
            identity,
            "case.open",
            case_id=case_id,
            agency=None,
            person_id=body.harmed_person_id or identity.person_id,
        )
        result = await service.execute(case_id, body, ctx, idempotency_key)
        _written(request, result)
        return command_response(response, case_id, result)

    @api.post(
        "/cases/{case_id}/invitations",
        status_code=201,
        summary="Record a referral as an invitation the harmed person may take up or ignore",
    )
    async def invite(
        request: Request,
        service: Svc,
        case_id: CaseId,
        body: c.RecordInvitation,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ):
        access.authorize(
            identity, "case.invite", case_id=case_id, agency=await service.case_agency(case_id)
        )
        result = await service.execute(case_id, body, ctx, idempotency_key)
        _written(request, result)
        return command_response(response, case_id, result)

    @api.post(
        "/cases/{case_id}/facilitator",
        status_code=201,
        summary="The harmed person chooses (or changes) the facilitator",
    )
    async def choose(
        request: Request,
        service: Svc,
        case_id: CaseId,
        body: c.ChooseFacilitator,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ):
        await on_case(request, service, identity, "lead.facilitator", case_id)
        result = await service.choose_facilitator(case_id, body, ctx, idempotency_key)
        _written(request, result)
        return command_response(response, case_id, result)

    async def run(
        request: Request,
        service: SessionsService,
        identity: Identity,
        action: str,
        case_id: str,
        command: Any,
        ctx: Any,
        key: str | None,
        response: Response,
        session_id: str | None = None,
    ) -> dict[str, Any]:
        await on_case(request, service, identity, action, case_id, session_id=session_id)
        if isinstance(command, c.ScheduleSession):
            result = await service.schedule(case_id, command, ctx, key)
        elif isinstance(command, c.StartSession):
            result = await service.start(case_id, command, ctx, key)
        else:
            result = await service.execute(case_id, command, ctx, key)
        _written(request, result)
        return command_response(response, case_id, result)

    @api.post(
        "/cases/{case_id}/preferences",
        status_code=201,
        summary="The harmed person's preferences: pace, forms, speaking order, who takes part",
    )
    async def prefer(
        request: Request,
        service: Svc,
        case_id: CaseId,
        body: c.SetPreferences,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ):
        return await run(
            request,
            service,
            identity,
            "lead.preferences",
            case_id,
            body,
            ctx,
            idempotency_key,
            response,
        )

    @api.post("/cases/{case_id}/pause", status_code=201, summary="Pause the case")
    async def pause(
        request: Request,
        service: Svc,
        case_id: CaseId,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        body: c.PauseCase | None = None,
        idempotency_key: IdempotencyKey = None,
    ):
        return await run(
            request,
            service,
            identity,
            "case.pause",
            case_id,
            body or c.PauseCase(),
            ctx,
            idempotency_key,
            response,
        )

    @api.post("/cases/{case_id}/resume", status_code=201, summary="Resume a paused case")
    async def resume(
        request: Request,
        service: Svc,
        case_id: CaseId,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ):
        return await run(
            request,
            service,
            identity,
            "case.resume",
            case_id,
            c.ResumeCase(),
            ctx,
            idempotency_key,
            response,
        )

    @api.post(
        "/cases/{case_id}/preparations",
        status_code=201,
        summary="A preparation session was held with one party (practitioner)",
    )
    async def prepare(
        request: Request,
        service: Svc,
        case_id: CaseId,
        body: c.RecordPreparation,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ):
        return await run(
            request,
            service,
            identity,
            "case.prepare",
            case_id,
            body,
            ctx,
            idempotency_key,
            response,
        )

    @api.post(
        "/cases/{case_id}/close",
        status_code=201,
        summary="Close the case (active sessions are halted on the record)",
    )
    async def close(
        request: Request,
        service: Svc,
        case_id: CaseId,
        body: c.CloseCase,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ):
        return await run(
            request,
            service,
            identity,
            "case.close",
            case_id,
            body,
            ctx,
            idempotency_key,
            response,
        )

    # --- contact sessions -----------------------------------------------------------------

    @api.post(
        "/cases/{case_id}/sessions",
        status_code=201,
        summary="Schedule a contact session through every gate (R4)",
    )
    async def schedule(
        request: Request,
        service: Svc,
        case_id: CaseId,
        body: c.ScheduleSession,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ):
        return await run(
            request,
            service,
            identity,
            "session.schedule",
            case_id,
            body,
            ctx,
            idempotency_key,
            response,
        )

    @api.post(
        "/cases/{case_id}/sessions/{session_id}/start",
        status_code=201,
        summary="Start a scheduled session: every gate is checked again (R4)",
    )
    async def start(
        request: Request,
        service: Svc,
        case_id: CaseId,
        session_id: SessionId,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ):
        return await run(
            request,
            service,
            identity,
            "session.start",
            case_id,
            c.StartSession(session_id=session_id),
            ctx,
            idempotency_key,
            response,
            session_id,
        )

    @api.post(
        "/cases/{case_id}/sessions/{session_id}/complete",
        status_code=201,
        summary="Complete a running session (facilitator)",
    )
    async def complete(
        request: Request,
        service: Svc,
        case_id: CaseId,
        session_id: SessionId,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ):
        return await run(
            request,
            service,
            identity,
            "session.complete",
            case_id,
            c.CompleteSession(session_id=session_id),
            ctx,
            idempotency_key,
            response,
            session_id,
        )

    @api.post(
        "/cases/{case_id}/sessions/{session_id}/halt",
        status_code=201,
        summary="Halt a session: any participant or practitioner, no reason owed (R3)",
    )
    async def halt(
        request: Request,
        service: Svc,
        case_id: CaseId,
        session_id: SessionId,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ):
        return await run(
            request,
            service,
            identity,
            "session.halt",
            case_id,
            c.HaltSession(session_id=session_id),
            ctx,
            idempotency_key,
            response,
            session_id,
        )

    @api.post(
        "/cases/{case_id}/sessions/{session_id}/agreement",
        status_code=201,
        summary="Record the outcome agreement, consented by every party present",
    )
    async def agree(
        request: Request,
        service: Svc,
        case_id: CaseId,
        session_id: SessionId,
        body: c.AgreementBody,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ):
        command = c.RecordAgreement(session_id=session_id, **body.model_dump())
        return await run(
            request,
            service,
            identity,
            "session.agree",
            case_id,
            command,
            ctx,
            idempotency_key,
            response,
            session_id,
        )

    # --- reads ---------------------------------------------------------------------------

    @api.get("/cases/{case_id}", summary="The case's state (participants: their own sessions)")
    async def case_state(request: Request, service: Svc, case_id: CaseId, identity: Caller):
        state = await service.require_case(case_id)
        agency = state.opened.agency if state.opened else None
        limited = False
        try:
            access.authorize(
                identity,
                "case.read",
                case_id=case_id,
                agency=agency,
                person_id=state.harmed_person_id,
            )
        except Forbidden:
            if identity.role not in PARTICIPANT_ROLES:
                raise
            access.authorize(
                identity,
                "session.read",
                case_id=case_id,
                agency=agency,
                participants=_people(state),
            )
            limited = True
        doc = await service.case_document(case_id)
        if doc is None:
            raise Unavailable("the case's state is being brought up to date; try again shortly")
        return _only_own(doc, identity.person_id) if limited else doc

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
        access.authorize(identity, "registry.register", case_id=None, agency=None)
        result = await service.register(body, ctx, idempotency_key)
        _written(request, result)
        return command_response(response, "registry", result)

    @api.get("/practitioners", summary="The practitioner registry (to choose a facilitator from)")
    async def practitioners(service: Svc, identity: Caller):
        access.authorize(identity, "registry.list", case_id=None, agency=None)
        return {"practitioners": await service.practitioner_list()}

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
