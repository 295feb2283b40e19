"""The consent service's HTTP API. Every call carries a verified identity; commands go through
the pure domain; reads come from the projection or the stream."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from mend_events.catalog.consent import ScopeKey
from mend_events.disclosure import for_viewer
from mend_events.http import Caller, CaseId, CommandCall, Run, command_route
from mend_events.identity_types import PseudoId
from mend_events.inputs import Moment

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


def _service(request: Request) -> ConsentService:
    return request.app.state.service


Svc = Annotated[ConsentService, Depends(_service)]


def router() -> APIRouter:
    api = APIRouter(prefix="/cases/{case_id}", tags=["consent"])

    async def execute(call: CommandCall, command: Any, person_id: str | None) -> Any:
        """`command` on the record of `person_id`."""
        service: ConsentService = call.service
        access.authorize(
            call.identity, "record.write", await service.case(call.case_id), person_id=person_id
        )
        return await service.commands.execute(
            call.case_id, command, call.ctx, idempotency_key=call.idempotency_key
        )

    def on_record_of(person_field: str) -> Run:
        """Run a command on the record of the person it names in `person_field`."""

        async def run(call: CommandCall, command: Any) -> Any:
            return await execute(call, command, getattr(command, person_field))

        return run

    async def on_grant_owners_record(call: CommandCall, command: WithdrawGrant) -> Any:
        # Whose grant it is decides the access check; an unknown grant is the domain's 404.
        owner = await call.service.grant_owner(call.case_id, command.grant_id)
        return await execute(call, command, owner or call.identity.person_id)

    # Commands on the record of the person they name (the names keep the operation ids).
    command = partial(command_route, api)
    command(
        "/consents",
        name="GiveConsent",
        body=GiveConsent,
        run=on_record_of("participant_id"),
        summary="Give consent for one scope (R1)",
    )
    command(
        "/withdrawals",
        name="withdraw",
        body=WithdrawScope | WithdrawAll,
        run=on_record_of("participant_id"),
        summary="Withdraw a whole scope, or everything: immediate, no reason required (R2)",
    )
    command(
        "/incentive-reports",
        name="ReportIncentive",
        body=ReportIncentive,
        run=on_record_of("participant_id"),
        summary="Report an incentive: the grants it tainted are invalidated (R1)",
    )
    command(
        "/acknowledgements",
        name="RecordAcknowledgement",
        body=RecordAcknowledgement,
        run=on_record_of("responsible_person_id"),
        summary="Record the responsible person's acknowledgement of the harm",
    )
    command(
        "/acknowledgements/withdrawal",
        name="WithdrawAcknowledgement",
        body=WithdrawAcknowledgement,
        run=on_record_of("responsible_person_id"),
        summary="The acknowledgement no longer stands (denial, minimisation)",
    )
    command(
        "/consents/{grant_id}/withdrawal",
        name="withdraw_grant",
        ids={"grant_id": UUID},
        body=WithdrawGrantBody,
        optional_body=True,
        build=lambda body, grant_id: WithdrawGrant(
            grant_id=grant_id, reason=body.reason if body else None
        ),
        run=on_grant_owners_record,
        summary="Withdraw one grant: immediate, no reason required (R2)",
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
    async def history(
        service: Svc, case_id: CaseId, identity: Caller, as_of: Moment | None = None
    ):
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
