"""The aftercare service's HTTP API. Every call carries a verified identity; commands go through
the pure domain; facts from other services (consent for research, the case's harmed person) come
from projections, never from a request body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from mend_events.decider import CommandContext
from mend_events.errors import Forbidden
from mend_events.http import Caller, Ctx, IdempotencyKey
from mend_events.identity import Identity
from mend_events.identity_types import PseudoId
from pydantic import BaseModel, ConfigDict

from mend_aftercare import access
from mend_aftercare import commands as c
from mend_aftercare.events import ProgressCode
from mend_aftercare.service import AftercareService

CaseId = Annotated[str, PseudoId]


class CommitmentProgressBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    progress: ProgressCode


def command_response(response: Response, case_id: str, result: Any) -> dict[str, Any]:
    response.status_code = 201 if result.events else 200
    return {
        "case_id": case_id,
        "version": result.version,
        "events": [{"event_id": str(e.event_id), "type": e.event_type} for e in result.events],
    }


def _service(request: Request) -> AftercareService:
    return request.app.state.service


Svc = Annotated[AftercareService, Depends(_service)]


async def _allow(service: AftercareService, case_id: str, identity: Identity, action: str) -> None:
    """`action` on this case; a participant only as the case's own harmed or responsible
    person (the domain then checks which of them may do what)."""
    state, _ = await service.commands.load(case_id)
    person = await service.subject(case_id, state, identity)
    access.authorize(
        identity,
        action,
        case_id=case_id,
        agency=await service.case_agency(case_id),
        person_id=person,
    )


@dataclass(frozen=True, slots=True)
class Call:
    """One command request: who calls, when, with which idempotency key."""

    service: AftercareService
    ctx: CommandContext
    identity: Identity
    response: Response
    key: str | None

    async def run(self, case_id: str, command: Any, action: str) -> dict[str, Any]:
        await _allow(self.service, case_id, self.identity, action)
        result = await self.service.commands.execute(
            case_id, command, self.ctx, idempotency_key=self.key
        )
        return command_response(self.response, case_id, result)


async def _call(
    request: Request,
    response: Response,
    ctx: Ctx,
    identity: Caller,
    idempotency_key: IdempotencyKey = None,
) -> Call:
    return Call(request.app.state.service, ctx, identity, response, idempotency_key)


Cmd = Annotated[Call, Depends(_call)]


def _own_or_casework(identity: Identity) -> str:
    """The harmed person's own word, or the practitioner acting on the case."""
    return access.OWN_RECORD if access.is_participant(identity) else access.CASEWORK


def router() -> APIRouter:
    api = APIRouter(tags=["aftercare"])
    case = "/cases/{case_id}/aftercare"

    # --- the harmed person's own word ---------------------------------------------------------

    @api.post(f"{case}/acceptance", status_code=201, summary="The harmed person accepts")
    async def accept(case_id: CaseId, call: Cmd):
        return await call.run(case_id, c.AcceptAftercare(), access.OWN_RECORD)

    @api.post(f"{case}/declination", status_code=201, summary="The harmed person declines")
    async def decline(case_id: CaseId, call: Cmd):
        return await call.run(case_id, c.DeclineAftercare(), access.OWN_RECORD)

    @api.post(
        f"{case}/progress-update-preference",
        status_code=201,
        summary="The harmed person chooses which progress updates they receive",
    )
    async def prefer(case_id: CaseId, body: c.SetProgressUpdatePreference, call: Cmd):
        return await call.run(case_id, body, access.OWN_RECORD)

    @api.post(
        f"{case}/closure",
        status_code=201,
        summary="Close: the harmed person's word, or a practitioner's for safety",
    )
    async def close(case_id: CaseId, body: c.CloseAftercare, call: Cmd):
        return await call.run(case_id, body, _own_or_casework(call.identity))

    @api.post(
        f"{case}/outcome-measures",
        status_code=201,
        summary="A voluntary outcome measure, recorded only under research consent",
    )
    async def measure(case_id: CaseId, body: c.OutcomeMeasureAnswer, call: Cmd):
        await _allow(call.service, case_id, call.identity, _own_or_casework(call.identity))
        result = await call.service.record_outcome(case_id, body, call.ctx, call.key)
        return command_response(call.response, case_id, result)

    # --- the responsible person's own word ----------------------------------------------------

    @api.post(
        f"{case}/desistance-plan",
        status_code=201,
        summary="The responsible person takes up desistance and reintegration support",
    )
    async def take_plan(case_id: CaseId, call: Cmd):
        return await call.run(case_id, c.AcceptDesistancePlan(), access.OWN_RECORD)

    @api.post(
        f"{case}/desistance-plan/end",
        status_code=201,
        summary="The responsible person leaves their plan (no reason owed)",
    )
    async def leave_plan(case_id: CaseId, call: Cmd):
        return await call.run(case_id, c.EndDesistancePlan(), access.OWN_RECORD)

    # --- the practitioner's casework ----------------------------------------------------------

    @api.post(f"{case}/check-ins", status_code=201, summary="Schedule a check-in")
    async def schedule(case_id: CaseId, body: c.ScheduleCheckIn, call: Cmd):
        return await call.run(case_id, body, access.CASEWORK)

    @api.post(
        f"{case}/check-ins/{{check_in_id}}/completion",
        status_code=201,
        summary="A check-in took place",
    )
    async def check_in_done(case_id: CaseId, check_in_id: UUID, call: Cmd):
        command = c.CompleteCheckIn(check_in_id=check_in_id)
        return await call.run(case_id, command, access.CASEWORK)

    @api.post(
        f"{case}/check-ins/{{check_in_id}}/missed",
        status_code=201,
        summary="A check-in was missed (a responsible person's is a signal for risk)",
    )
    async def check_in_missed(case_id: CaseId, check_in_id: UUID, call: Cmd):
        command = c.MarkCheckInMissed(check_in_id=check_in_id)
        return await call.run(case_id, command, access.CASEWORK)

    @api.post(f"{case}/referrals", status_code=201, summary="Make a referral")
    async def refer(case_id: CaseId, body: c.MakeReferral, call: Cmd):
        return await call.run(case_id, body, access.CASEWORK)

    @api.post(
        f"{case}/commitments/{{commitment_id}}/progress",
        status_code=201,
        summary="Record progress on a commitment",
    )
    async def progress(
        case_id: CaseId, commitment_id: UUID, body: CommitmentProgressBody, call: Cmd
    ):
        command = c.RecordCommitmentProgress(commitment_id=commitment_id, progress=body.progress)
        return await call.run(case_id, command, access.CASEWORK)

    @api.post(
        f"{case}/commitments/{{commitment_id}}/completion",
        status_code=201,
        summary="A commitment was completed",
    )
    async def completed(case_id: CaseId, commitment_id: UUID, call: Cmd):
        command = c.CompleteCommitment(commitment_id=commitment_id)
        return await call.run(case_id, command, access.CASEWORK)

    @api.post(
        f"{case}/commitments/{{commitment_id}}/non-completion",
        status_code=201,
        summary="A commitment was not completed",
    )
    async def not_completed(case_id: CaseId, commitment_id: UUID, call: Cmd):
        command = c.RecordCommitmentNotCompleted(commitment_id=commitment_id)
        return await call.run(case_id, command, access.CASEWORK)

    # --- reads ----------------------------------------------------------------------------------

    @api.get(case, summary="The case's aftercare, as the caller may see it")
    async def state(service: Svc, case_id: CaseId, identity: Caller):
        await _allow(service, case_id, identity, access.read_action(identity))
        current, version = await service.commands.load(case_id)
        return {"version": version, **await service.view(case_id, identity, current)}

    @api.get(
        f"{case}/progress-updates",
        summary="The progress updates delivered to the harmed person (theirs only)",
    )
    async def updates(service: Svc, case_id: CaseId, identity: Caller):
        await _allow(service, case_id, identity, access.READ_OWN)
        current, _ = await service.commands.load(case_id)
        if current.harmed_person_id != identity.person_id:
            raise Forbidden("progress updates are for the harmed person only")
        return {
            "case_id": case_id,
            "updates": await service.delivered_updates(case_id, identity.person_id),
        }

    @api.get(
        "/reports/commissioners",
        summary="Counts and rates over the agency's after-care; no personal data",
    )
    async def report(service: Svc, identity: Caller):
        access.authorize(identity, access.REPORT, case_id=None, agency=identity.agency)
        # Counts and rates only (report.py): nothing else joins it, not even the agency id.
        return await service.commissioners_report(identity.agency)

    return api
