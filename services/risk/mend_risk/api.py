"""The risk service's HTTP API. Every call carries a verified identity; commands go through
the pure domain; reads come from the projection (one, an assessment's factors, from the
stream)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from mend_events.contracts.vocabulary import ContactForm
from mend_events.errors import Rejected
from mend_events.security.disclosure import for_viewer
from mend_events.web.commands import (
    Caller,
    CaseCommand,
    CaseId,
    CommandCall,
    app_service,
    command_routes,
)
from mend_events.web.inputs import Moment

from mend_risk import access
from mend_risk.commands import (
    AgreeSafetyPlan,
    CompleteRiskAssessment,
    RaiseRiskFlag,
    RecordRiskFactor,
    ResolveRiskFlag,
    StartRiskAssessment,
)
from mend_risk.domain.forms import possible_involvement
from mend_risk.service import RiskService

At = Annotated[
    Moment | None,
    Query(description="A moment with its timezone (ISO 8601); now when left out"),
]


Svc = Annotated[RiskService, Depends(app_service)]


async def _run(call: CommandCall, command: Any) -> Any:
    service: RiskService = call.service
    access.authorize(call.identity, access.WRITE, await service.case(call.case_id))
    return await service.execute(call.case_id, command, call.ctx, call.idempotency_key)


async def _may_read(service: RiskService, case_id: str, identity: Caller) -> None:
    access.authorize(identity, access.READ, await service.case(case_id))


# The commands on a case's risk record, each body the command itself, each run as a write on
# the record: POST /cases/{case_id}<path>.
RISK_COMMANDS = (
    CaseCommand("/assessments", "start", access.WRITE, "Start an initial or full assessment",
                body=StartRiskAssessment),
    CaseCommand("/risk-factors", "record_factor", access.WRITE,
                "Record one factor of the open assessment (a later record of it replaces this)",
                body=RecordRiskFactor),
    CaseCommand("/assessment-completions", "complete", access.WRITE,
                "Complete an assessment: decision, permitted forms, reasons, sign-off, validity",
                body=CompleteRiskAssessment),
    CaseCommand("/safety-plans", "agree_plan", access.WRITE,
                "Record the safety plan agreed with a participant (never the code word itself)",
                body=AgreeSafetyPlan),
    CaseCommand("/flags", "raise_flag", access.WRITE,
                "Raise a risk flag (R5); a reassessment falls due with it", body=RaiseRiskFlag),
    CaseCommand("/flag-resolutions", "resolve_flag", access.WRITE,
                "Resolve a flag: who, when and why", body=ResolveRiskFlag),
)  # fmt: skip


def router() -> APIRouter:
    api = APIRouter(prefix="/cases/{case_id}", tags=["risk"])
    command_routes(api, "", RISK_COMMANDS, run_as=lambda _: _run, case_id=CaseId)

    @api.get(
        "/risk",
        summary="The case's risk position now or at a past moment (staff and auditors only)",
    )
    async def summary(service: Svc, case_id: CaseId, identity: Caller, at: At = None):
        await _may_read(service, case_id, identity)
        return await service.summary(case_id, at)

    @api.get(
        "/permits",
        summary="Whether a current assessment permits a contact form, now or at a past moment",
        description=(
            "Answers from the read model (the same answer as a replay of the case's events). "
            "`with_responsible_person` matters for conferences and circles; left out, the "
            "riskier reading (with them) is asked, or the form's own when it is fixed. "
            "`severe_flags` lists severe flags standing at that moment: they block contact "
            "whatever the assessment permits (R5)."
        ),
    )
    async def permits(
        service: Svc,
        case_id: CaseId,
        identity: Caller,
        form: ContactForm,
        at: At = None,
        with_responsible_person: bool | None = None,
    ):
        await _may_read(service, case_id, identity)
        if with_responsible_person is not None and not possible_involvement(
            form, with_responsible_person
        ):
            who = "always involves" if not with_responsible_person else "never involves"
            raise Rejected(f"{form} {who} the responsible person", field="with_responsible_person")
        return await service.permits(
            case_id, form, at, with_responsible_person=with_responsible_person
        )

    @api.get(
        "/safety-plans",
        summary="Safety plans (a participant sees only those agreed with them)",
    )
    async def plans(service: Svc, case_id: CaseId, identity: Caller):
        own = identity.person_id if access.reads_only_own(identity) else None
        access.authorize(identity, access.READ_PLANS, await service.case(case_id), person_id=own)
        rows = await service.safety_plans(case_id, own)
        # A participant's own plan, without the assessment it came from (what they may know).
        return for_viewer(identity, {"case_id": case_id, "safety_plans": rows})

    @api.get(
        "/assessments/{assessment_id}",
        summary="One assessment as recorded: factors, decision, safety plans (staff only)",
    )
    async def assessment(service: Svc, case_id: CaseId, assessment_id: UUID, identity: Caller):
        await _may_read(service, case_id, identity)
        return await service.assessment(case_id, assessment_id)

    return api
