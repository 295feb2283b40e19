"""The consent service's HTTP API. Every call carries a verified identity; commands go through
the pure domain; reads come from the projection or the stream."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from mend_events.contracts.actors import PseudoId
from mend_events.contracts.catalog.consent import ScopeKey
from mend_events.security.disclosure import for_viewer
from mend_events.web.commands import (
    Caller,
    CaseCommand,
    CaseId,
    CommandCall,
    Run,
    app_service,
    command_routes,
)
from mend_events.web.inputs import Moment

from mend_consent import access
from mend_consent.commands import (
    GiveConsent,
    RecordAcknowledgement,
    ReportIncentive,
    WithdrawAcknowledgement,
    WithdrawAll,
    WithdrawGrant,
    WithdrawGrantBody,
    WithdrawScope,
)
from mend_consent.domain import ConsentState
from mend_consent.service import ConsentService

Svc = Annotated[ConsentService, Depends(app_service)]


async def _execute(call: CommandCall, command: Any, person_id: str | None) -> Any:
    """`command` on the record of `person_id`."""
    service: ConsentService = call.service
    access.authorize(
        call.identity, "record.write", await service.case(call.case_id), person_id=person_id
    )
    return await service.execute(call.case_id, command, call.ctx, call.idempotency_key)


def _on_record_of(person_field: str) -> Run:
    """Run a command on the record of the person it names in `person_field`."""

    async def run(call: CommandCall, command: Any) -> Any:
        return await _execute(call, command, getattr(command, person_field))

    return run


async def _on_grant_owners_record(call: CommandCall, command: WithdrawGrant) -> Any:
    # Whose grant it is decides the access check; an unknown grant is the domain's 404.
    owner = await call.service.grant_owner(call.case_id, command.grant_id)
    return await _execute(call, command, owner or call.identity.person_id)


# The commands on the record of the person they name, each run on the record of the person in
# its field (the names keep the operation ids): POST /cases/{case_id}<path>.
CONSENT_COMMANDS = (
    CaseCommand("/consents", "GiveConsent", "participant_id",
                "Give consent for one scope (R1)", body=GiveConsent),
    CaseCommand("/withdrawals", "withdraw", "participant_id",
                "Withdraw a whole scope, or everything: immediate, no reason required (R2)",
                body=WithdrawScope | WithdrawAll),
    CaseCommand("/incentive-reports", "ReportIncentive", "participant_id",
                "Report an incentive: the grants it tainted are invalidated (R1)",
                body=ReportIncentive),
    CaseCommand("/acknowledgements", "RecordAcknowledgement", "responsible_person_id",
                "Record the responsible person's acknowledgement of the harm",
                body=RecordAcknowledgement),
    CaseCommand("/acknowledgements/withdrawal", "WithdrawAcknowledgement",
                "responsible_person_id",
                "The acknowledgement no longer stands (denial, minimisation)",
                body=WithdrawAcknowledgement),
    CaseCommand("/consents/{grant_id}/withdrawal", "withdraw_grant", None,
                "Withdraw one grant: immediate, no reason required (R2)",
                body=WithdrawGrantBody, optional_body=True,
                build=lambda body, grant_id: WithdrawGrant(
                    grant_id=grant_id, reason=body.reason if body else None),
                run=_on_grant_owners_record),
)  # fmt: skip


def router() -> APIRouter:
    api = APIRouter(prefix="/cases/{case_id}", tags=["consent"])
    command_routes(
        api, "", CONSENT_COMMANDS, run_as=_on_record_of, ids={"grant_id": UUID}, case_id=CaseId
    )

    @api.get("/consents", summary="The grants in force (a participant sees only their own)")
    async def current(
        service: Svc,
        case_id: CaseId,
        identity: Caller,
        participant_id: Annotated[PseudoId | None, Query()] = None,
    ):
        if access.reads_only_own(identity):
            participant_id = identity.person_id
        access.authorize(
            identity, "record.read", await service.case(case_id), person_id=participant_id
        )
        grants = await service.current_grants(case_id, participant_id)
        return for_viewer(identity, {"case_id": case_id, "grants": grants})

    @api.get(
        "/consent-history",
        summary="Every consent event: who, when, what and why, optionally as of a moment",
    )
    async def history(service: Svc, case_id: CaseId, identity: Caller, as_of: Moment | None = None):
        own = identity.person_id if access.reads_only_own(identity) else None
        access.authorize(identity, "record.history", await service.case(case_id), person_id=own)
        events = await service.history(case_id, identity, only_person=own, as_of=as_of)
        return for_viewer(identity, {"case_id": case_id, "as_of": as_of, "events": events})

    @api.get("/consent-state", summary="Whether consent covers a scope now (for staff)")
    async def state(
        service: Svc,
        case_id: CaseId,
        identity: Caller,
        participant_id: PseudoId,
        scope: ScopeKey,
    ):
        access.authorize(identity, "case.read", await service.case(case_id))
        current: ConsentState = (await service.commands.load(case_id))[0]
        return {
            "case_id": case_id,
            "participant_id": participant_id,
            "scope": scope,
            "covered": service.covers(current, participant_id, scope),
        }

    return api
