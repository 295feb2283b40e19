"""The consent service's HTTP API. Every call carries a verified identity; commands go through
the pure domain; reads come from the projection or the stream."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from mend_events.http import Caller, CaseId, Ctx, IdempotencyKey, command_response

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

    async def run(
        service: ConsentService,
        case_id: str,
        command: Any,
        ctx: Ctx,
        person_id: str | None,
        key: str | None,
        response: Response,
        identity: Caller,
    ) -> dict[str, Any]:
        access.authorize(
            identity,
            "record.write",
            case_id=case_id,
            agency=await service.case_agency(case_id),
            person_id=person_id,
        )
        result = await service.commands.execute(case_id, command, ctx, idempotency_key=key)
        return command_response(response, case_id, result)

    def command(path: str, body_type: type, person_field: str, summary: str) -> None:
        """A route whose body is the command itself, on the record of `body.<person_field>`."""

        async def endpoint(
            service: Svc,
            case_id: CaseId,
            body: Any,
            ctx: Ctx,
            identity: Caller,
            response: Response,
            idempotency_key: IdempotencyKey = None,
        ) -> dict[str, Any]:
            return await run(
                service,
                case_id,
                body,
                ctx,
                getattr(body, person_field),
                idempotency_key,
                response,
                identity,
            )

        endpoint.__annotations__["body"] = body_type  # the body's model, for validation + docs
        endpoint.__name__ = body_type.__name__ if isinstance(body_type, type) else "withdraw"
        api.post(path, status_code=201, summary=summary)(endpoint)

    command("/consents", GiveConsent, "participant_id", "Give consent for one scope (R1)")
    command(
        "/withdrawals",
        WithdrawScope | WithdrawAll,
        "participant_id",
        "Withdraw a whole scope, or everything: immediate, no reason required (R2)",
    )
    command(
        "/incentive-reports",
        ReportIncentive,
        "participant_id",
        "Report an incentive: the grants it tainted are invalidated (R1)",
    )
    command(
        "/acknowledgements",
        RecordAcknowledgement,
        "responsible_person_id",
        "Record the responsible person's acknowledgement of the harm",
    )
    command(
        "/acknowledgements/withdrawal",
        WithdrawAcknowledgement,
        "responsible_person_id",
        "The acknowledgement no longer stands (denial, minimisation)",
    )

    @api.post(
        "/consents/{grant_id}/withdrawal",
        status_code=201,
        summary="Withdraw one grant: immediate, no reason required (R2)",
    )
    async def withdraw_grant(
        service: Svc,
        case_id: CaseId,
        grant_id: UUID,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        body: WithdrawGrantBody | None = None,
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        # Whose grant it is decides the access check; an unknown grant is the domain's 404.
        owner = await service.grant_owner(case_id, grant_id)
        command = WithdrawGrant(grant_id=grant_id, reason=body.reason if body else None)
        return await run(
            service,
            case_id,
            command,
            ctx,
            owner or identity.person_id,
            idempotency_key,
            response,
            identity,
        )

    @api.get("/consents", summary="The grants in force (a participant sees only their own)")
    async def current(
        service: Svc,
        case_id: CaseId,
        identity: Caller,
        participant_id: Annotated[str | None, Query(max_length=80)] = None,
    ):
        if access.reads_only_own(identity):
            participant_id = identity.person_id
        access.authorize(
            identity,
            "record.read",
            case_id=case_id,
            agency=await service.case_agency(case_id),
            person_id=participant_id,
        )
        return {"case_id": case_id, "grants": await service.current_grants(case_id, participant_id)}

    @api.get(
        "/consent-history",
        summary="Every consent event: who, when, what and why, optionally as of a moment",
    )
    async def history(
        service: Svc, case_id: CaseId, identity: Caller, as_of: datetime | None = None
    ):
        own = identity.person_id if access.reads_only_own(identity) else None
        access.authorize(
            identity,
            "record.history",
            case_id=case_id,
            agency=await service.case_agency(case_id),
            person_id=own,
        )
        return {
            "case_id": case_id,
            "as_of": as_of,
            "events": await service.history(case_id, identity, only_person=own, as_of=as_of),
        }

    @api.get("/consent-state", summary="Whether consent covers a scope now (for staff)")
    async def state(
        service: Svc, case_id: CaseId, identity: Caller, participant_id: str, scope: str
    ):
        access.authorize(
            identity, "case.read", case_id=case_id, agency=await service.case_agency(case_id)
        )
        current: ConsentState = (await service.commands.load(case_id))[0]
        return {
            "case_id": case_id,
            "participant_id": participant_id,
            "scope": scope,
            "covered": service.covers(current, participant_id, scope),
        }

    return api
