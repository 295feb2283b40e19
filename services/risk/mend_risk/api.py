"""The risk service's HTTP API. Every call carries a verified identity; commands go through
the pure domain; reads come from the projection (one, an assessment's factors, from the
stream)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from mend_events.disclosure import for_viewer
from mend_events.errors import Rejected
from mend_events.http import Caller, CaseId, CommandCall, command_route
from mend_events.inputs import Moment
from mend_events.vocabulary import ContactForm

from mend_risk import access
from mend_risk.commands import (
    AgreeSafetyPlan,
    CompleteRiskAssessment,
    RaiseRiskFlag,
    RecordRiskFactor,
    ResolveRiskFlag,
    StartRiskAssessment,
)
from mend_risk.forms import possible_involvement
from mend_risk.service import RiskService

At = Annotated[
    Moment | None,
    Query(description="A moment with its timezone (ISO 8601); now when left out"),
]


def _service(request: Request) -> RiskService:
    return request.app.state.service


Svc = Annotated[RiskService, Depends(_service)]


def router() -> APIRouter:
    api = APIRouter(prefix="/cases/{case_id}", tags=["risk"])

    async def run(call: CommandCall, command: Any) -> Any:
        service: RiskService = call.service
        access.authorize(call.identity, access.WRITE, await service.case(call.case_id))
        return await service.execute(call.case_id, command, call.ctx, call.idempotency_key)

    async def may_read(service: RiskService, case_id: str, identity: Caller) -> None:
        access.authorize(identity, access.READ, await service.case(case_id))

    # Each body is the command itself.
    command = partial(command_route, api, case_id=CaseId, run=run)
    command(
        "/assessments",
        name="start",
        body=StartRiskAssessment,
        summary="Start an initial or full assessment",
    )
    command(
        "/risk-factors",
        name="record_factor",
        body=RecordRiskFactor,
        summary="Record one factor of the open assessment (a later record of it replaces this)",
    )
    command(
        "/assessment-completions",
        name="complete",
        body=CompleteRiskAssessment,
        summary="Complete an assessment: decision, permitted forms, reasons, sign-off, validity",
    )
    command(
        "/safety-plans",
        name="agree_plan",
        body=AgreeSafetyPlan,
        summary="Record the safety plan agreed with a participant (never the code word itself)",
    )
    command(
        "/flags",
        name="raise_flag",
        body=RaiseRiskFlag,
        summary="Raise a risk flag (R5); a reassessment falls due with it",
    )
    command(
        "/flag-resolutions",
        name="resolve_flag",
        body=ResolveRiskFlag,
        summary="Resolve a flag: who, when and why",
    )

    @api.get(
        "/risk",
        summary="The case's risk position now or at a past moment (staff and auditors only)",
    )
    async def summary(service: Svc, case_id: CaseId, identity: Caller, at: At = None):
        await may_read(service, case_id, identity)
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
        await may_read(service, case_id, identity)
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
        await may_read(service, case_id, identity)
        return await service.assessment(case_id, assessment_id)

    return api
