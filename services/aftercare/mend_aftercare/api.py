"""The aftercare service's HTTP API. Every call carries a verified identity; commands go through
the pure domain; facts from other services (consent for research, the case's harmed person) come
from projections, never from a request body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends
from mend_events.contracts.catalog.aftercare import ProgressCode
from mend_events.errors import Forbidden
from mend_events.security.disclosure import for_viewer
from mend_events.security.identity import Identity
from mend_events.web.commands import (
    Caller,
    CaseCommand,
    CaseId,
    CommandCall,
    Run,
    app_service,
    command_routes,
)
from pydantic import BaseModel, ConfigDict

from mend_aftercare import access
from mend_aftercare import commands as c
from mend_aftercare.service import AftercareService


class CommitmentProgressBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    progress: ProgressCode


Svc = Annotated[AftercareService, Depends(app_service)]


async def _allow(service: AftercareService, case_id: str, identity: Identity, action: str) -> None:
    """`action` on this case; a participant only as one who takes part in it, in the role
    they claim (the domain then checks which of them may do what)."""
    entry = await service.case(case_id)
    access.authorize(identity, action, entry, person_id=service.subject(entry, identity))


def _own_or_casework(identity: Identity) -> str:
    """The harmed person's own word, or the practitioner acting on the case."""
    return access.OWN_RECORD if access.is_participant(identity) else access.CASEWORK


def _as(action: str | Callable[[Identity], str]) -> Run:
    """Run a command as `action` on the case (or the action the caller's identity decides)."""

    async def run(call: CommandCall, command: Any) -> Any:
        service: AftercareService = call.service
        allowed = action(call.identity) if callable(action) else action
        await _allow(service, call.case_id, call.identity, allowed)
        return await service.commands.execute(
            call.case_id, command, call.ctx, idempotency_key=call.idempotency_key
        )

    return run


async def _record_outcome(call: CommandCall, command: c.OutcomeMeasureAnswer) -> Any:
    """Outcome measures go through the service, which checks research consent first."""
    service: AftercareService = call.service
    await _allow(service, call.case_id, call.identity, _own_or_casework(call.identity))
    return await service.record_outcome(call.case_id, command, call.ctx, call.idempotency_key)


async def _answer_instrument(call: CommandCall, command: c.InstrumentAnswers) -> Any:
    """Instrument answers go through the service, which reads the person's role and research
    consent first; whoever may record them is the domain's (the person or a practitioner)."""
    service: AftercareService = call.service
    await _allow(service, call.case_id, call.identity, _own_or_casework(call.identity))
    return await service.answer_instrument(call.case_id, command, call.ctx, call.idempotency_key)


_OWN, _CASEWORK = access.OWN_RECORD, access.CASEWORK
_CHECK_IN, _COMMITMENT = "/check-ins/{check_in_id}", "/commitments/{commitment_id}"

# The commands on a case's aftercare, each run as its action (or the action the caller's
# identity decides): POST /cases/{case_id}/aftercare<path>.
AFTERCARE_COMMANDS = (
    # the harmed person's own word
    CaseCommand("/acceptance", "accept", _OWN, "The harmed person accepts",
                build=c.AcceptAftercare),
    CaseCommand("/declination", "decline", _OWN, "The harmed person declines",
                build=c.DeclineAftercare),
    CaseCommand("/progress-update-preference", "prefer", _OWN,
                "The harmed person chooses which progress updates they receive",
                body=c.SetProgressUpdatePreference),
    CaseCommand("/closure", "close", _own_or_casework,
                "Close: the harmed person's word, or a practitioner's for safety",
                body=c.CloseAftercare),
    CaseCommand("/outcome-measures", "measure", None,
                "A voluntary outcome measure, recorded only under research consent",
                body=c.OutcomeMeasureAnswer, run=_record_outcome),
    CaseCommand("/instrument-answers", "answer", None,
                "A whole answer set to a versioned outcome instrument, about one person, "
                "recorded only under their research consent",
                body=c.InstrumentAnswers, run=_answer_instrument),
    # the responsible person's own word
    CaseCommand("/desistance-plan", "take_plan", _OWN,
                "The responsible person takes up desistance and reintegration support",
                build=c.AcceptDesistancePlan),
    CaseCommand("/desistance-plan/end", "leave_plan", _OWN,
                "The responsible person leaves their plan (no reason owed)",
                build=c.EndDesistancePlan),
    # the practitioner's casework
    CaseCommand("/check-ins", "schedule", _CASEWORK, "Schedule a check-in",
                body=c.ScheduleCheckIn),
    CaseCommand(f"{_CHECK_IN}/completion", "check_in_done", _CASEWORK,
                "A check-in took place", build=c.CompleteCheckIn),
    CaseCommand(f"{_CHECK_IN}/missed", "check_in_missed", _CASEWORK,
                "A check-in was missed (a responsible person's is a signal for risk)",
                build=c.MarkCheckInMissed),
    CaseCommand("/referrals", "refer", _CASEWORK, "Make a referral", body=c.MakeReferral),
    CaseCommand(f"{_COMMITMENT}/progress", "progress", _CASEWORK,
                "Record progress on a commitment", body=CommitmentProgressBody,
                build=lambda body, commitment_id: c.RecordCommitmentProgress(
                    commitment_id=commitment_id, progress=body.progress)),
    CaseCommand(f"{_COMMITMENT}/completion", "completed", _CASEWORK,
                "A commitment was completed", build=c.CompleteCommitment),
    CaseCommand(f"{_COMMITMENT}/non-completion", "not_completed", _CASEWORK,
                "A commitment was not completed", build=c.RecordCommitmentNotCompleted),
)  # fmt: skip


def router() -> APIRouter:
    api = APIRouter(tags=["aftercare"])
    case = "/cases/{case_id}/aftercare"

    command_routes(
        api,
        case,
        AFTERCARE_COMMANDS,
        run_as=_as,
        ids={"check_in_id": UUID, "commitment_id": UUID},
        case_id=CaseId,
    )

    # --- reads ----------------------------------------------------------------------------------

    @api.get(case, summary="The case's aftercare, as the caller may see it")
    async def state(service: Svc, case_id: CaseId, identity: Caller):
        await _allow(service, case_id, identity, access.read_action(identity))
        current, version = await service.commands.load(case_id)
        view = await service.view(case_id, identity, current)
        return for_viewer(identity, {"version": version, **view})

    @api.get(
        f"{case}/progress-updates",
        summary="The progress updates delivered to the harmed person (theirs only)",
    )
    async def updates(service: Svc, case_id: CaseId, identity: Caller):
        await _allow(service, case_id, identity, access.READ_OWN)
        current, _ = await service.commands.load(case_id)
        if current.harmed_person_id != identity.person_id:
            raise Forbidden("progress updates are for the harmed person only")
        updates = await service.delivered_updates(case_id, identity.person_id)
        return for_viewer(identity, {"case_id": case_id, "updates": updates})

    return api
