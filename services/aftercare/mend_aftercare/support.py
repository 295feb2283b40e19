"""Support and signposting without a case (issue 20): a support plan keyed by the person (or an
enquiry's reference), on its own stream `support:<agency>:<subject>`, decided by the same
aftercare decider as a case's after-care (`domain.decide`: check-ins, referrals, closure).

Who may do what (deny by default):
- the agency's practitioners open a plan at the person's request, schedule and settle its
  check-ins, make its referrals, and record the person's word to stop it;
- the person themself (signed in with their own account: a registered person's id, or the
  enquiry's reference) reads their plan, opens it, and stops it at once;
- the agency's coordinators and auditors read plans; nobody of another agency reaches one
  (the stream is the caller's agency's)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Path, Request, Response
from mend_events.commands.service import CommandResult
from mend_events.contracts.actors import PARTICIPANT_ROLES, PSEUDO_ID_PATTERN, PseudoId, Role
from mend_events.contracts.catalog.aftercare import (
    ClosureReason,
    PlanRole,
    ReferralKind,
    SupportSubject,
    support_stream,
)
from mend_events.errors import NotFound
from mend_events.security.identity import Identity
from mend_events.security.policy import Policy, Rule, all_of, own_record, same_agency
from mend_events.web.commands import Caller, Ctx, IdempotencyKey, app_service, command_response
from mend_events.web.inputs import Day, Moment
from pydantic import BaseModel, ConfigDict

from mend_aftercare import commands as c
from mend_aftercare.domain import views
from mend_aftercare.domain.state import AftercareState
from mend_aftercare.service import AftercareService

LIST, READ, OPEN, CLOSE, CASEWORK = (
    "support.list", "support.read", "support.open", "support.close", "support.casework",
)  # fmt: skip
_OWN = all_of(same_agency, own_record)
_READERS = {Role.PRACTITIONER, Role.COORDINATOR, Role.AUDITOR}
POLICY = Policy(
    [
        Rule(LIST, _READERS, same_agency),
        Rule(READ, _READERS, same_agency),
        Rule(READ, PARTICIPANT_ROLES, _OWN),
        Rule(OPEN, {Role.PRACTITIONER}, same_agency),
        Rule(OPEN, PARTICIPANT_ROLES, _OWN),
        Rule(CLOSE, {Role.PRACTITIONER}, same_agency),
        Rule(CLOSE, PARTICIPANT_ROLES, _OWN),
        Rule(CASEWORK, {Role.PRACTITIONER}, same_agency),
    ]
)


def authorize(identity: Identity, action: str, subject_id: str | None = None) -> None:
    POLICY.authorize(identity, action, {"agency": identity.agency, "person_id": subject_id})


class OpenBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: SupportSubject = SupportSubject.PERSON


class CheckInBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    check_in_id: UUID
    due_at: Moment


class ReferralBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    referral_id: UUID
    kind: ReferralKind
    owner_id: PseudoId
    due_on: Day


def view(state: AftercareState) -> dict[str, Any]:
    """The plan as its person and the agency's staff see it: codes, ids and times."""
    return {
        "subject_id": state.supported_id,
        "subject": str(state.support) if state.support else None,
        "status": str(state.status),
        "closure_reason": str(state.closure_reason) if state.closure_reason else None,
        "check_ins": views.check_ins(state),
        "referrals": views.referrals(state),
    }


async def plan_streams(pool: asyncpg.Pool, schema: str, agency: str) -> list[str]:
    """The agency's support plans, newest first, read from aftercare's own store now."""
    rows = await pool.fetch(
        f"SELECT stream_id, min(global_position) AS first FROM {schema}.events "
        f"WHERE starts_with(stream_id, $1) GROUP BY stream_id ORDER BY first DESC LIMIT 200",
        support_stream(agency, ""),
    )
    return [r["stream_id"] for r in rows]


Svc = Annotated[AftercareService, Depends(app_service)]
Subject = Annotated[str, Path(pattern=PSEUDO_ID_PATTERN)]


def router() -> APIRouter:
    api = APIRouter(prefix="/support", tags=["support"])

    async def run(
        svc: AftercareService, identity: Identity, ctx: Any, subject: str, command: Any,
        action: str, response: Response, key: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        authorize(identity, action, subject)
        stream = support_stream(identity.agency, subject)
        result: CommandResult[AftercareState] = await svc.commands.execute(
            stream, command, ctx, idempotency_key=key
        )
        return command_response(response, subject, result, key="subject_id")

    @api.get("", summary="The agency's support plans (support without a case)")
    async def listing(svc: Svc, identity: Caller, request: Request) -> dict[str, Any]:
        authorize(identity, LIST)
        plans = []
        for stream in await plan_streams(svc.store.pool, svc.schema, identity.agency):
            state, version = await svc.commands.load(stream)
            if state.supported_id is not None:
                plans.append({"version": version, **view(state)})
        return {"plans": plans}

    @api.get("/{subject}", summary="One person's support plan")
    async def read(svc: Svc, identity: Caller, subject: Subject) -> dict[str, Any]:
        authorize(identity, READ, subject)
        state, version = await svc.commands.load(support_stream(identity.agency, subject))
        if state.supported_id is None:
            raise NotFound("no support plan for this person", field="subject_id")
        return {"version": version, **view(state)}

    @api.post("/{subject}/plan", status_code=201,
              summary="Open a support plan at the person's request")  # fmt: skip
    async def open_plan(svc: Svc, identity: Caller, ctx: Ctx, subject: Subject, body: OpenBody,
                        response: Response) -> dict[str, Any]:  # fmt: skip
        command = c.OpenSupportPlan(subject_id=subject, subject=body.subject)
        return await run(svc, identity, ctx, subject, command, OPEN, response)

    @api.post("/{subject}/closure", status_code=201,
              summary="Stop the plan: at once, at the person's word")  # fmt: skip
    async def close(svc: Svc, identity: Caller, ctx: Ctx, subject: Subject,
                    body: c.CloseAftercare, response: Response) -> dict[str, Any]:  # fmt: skip
        return await run(svc, identity, ctx, subject, body, CLOSE, response)

    @api.post("/{subject}/check-ins", status_code=201, summary="Schedule a check-in")
    async def schedule(svc: Svc, identity: Caller, ctx: Ctx, subject: Subject, body: CheckInBody,
                       response: Response, idempotency_key: IdempotencyKey = None):  # fmt: skip
        command = c.ScheduleCheckIn(check_in_id=body.check_in_id, participant_id=subject,
                                    participant_role=PlanRole.SUPPORTED_PERSON,
                                    due_at=body.due_at)  # fmt: skip
        return await run(svc, identity, ctx, subject, command, CASEWORK, response,
                         idempotency_key)  # fmt: skip

    @api.post("/{subject}/check-ins/{check_in_id}/completion", status_code=201,
              summary="A check-in took place")  # fmt: skip
    async def done(svc: Svc, identity: Caller, ctx: Ctx, subject: Subject, check_in_id: UUID,
                   response: Response) -> dict[str, Any]:  # fmt: skip
        command = c.CompleteCheckIn(check_in_id=check_in_id)
        return await run(svc, identity, ctx, subject, command, CASEWORK, response)

    @api.post("/{subject}/check-ins/{check_in_id}/missed", status_code=201,
              summary="A check-in was missed (never escalated)")  # fmt: skip
    async def missed(svc: Svc, identity: Caller, ctx: Ctx, subject: Subject, check_in_id: UUID,
                     response: Response) -> dict[str, Any]:  # fmt: skip
        command = c.MarkCheckInMissed(check_in_id=check_in_id)
        return await run(svc, identity, ctx, subject, command, CASEWORK, response)

    @api.post("/{subject}/referrals", status_code=201,
              summary="Signpost: a referral to another service")  # fmt: skip
    async def refer(svc: Svc, identity: Caller, ctx: Ctx, subject: Subject, body: ReferralBody,
                    response: Response, idempotency_key: IdempotencyKey = None):  # fmt: skip
        command = c.MakeReferral(participant_id=subject,
                                 participant_role=PlanRole.SUPPORTED_PERSON,
                                 **body.model_dump())  # fmt: skip
        return await run(svc, identity, ctx, subject, command, CASEWORK, response,
                         idempotency_key)  # fmt: skip

    return api


__all__ = ["POLICY", "ClosureReason", "authorize", "router", "view"]
