"""The circles service's HTTP API: one table of commands, and three reads (the list, a circle
as the caller may see it, its history for staff). Every call carries a
verified identity; facts from other services come from projections, never from a body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.consent import CIRCLE_ID_PATTERN
from mend_events.errors import Rejected
from mend_events.security.identity import Identity
from mend_events.web.commands import (
    Caller,
    CaseCommand,
    CommandCall,
    Run,
    app_service,
    command_routes,
)
from mend_events.web.inputs import Moment

from mend_circles import access
from mend_circles import commands as c
from mend_circles.service import CirclesService

CircleId = Annotated[str, Path(pattern=CIRCLE_ID_PATTERN)]
Svc = Annotated[CirclesService, Depends(app_service)]


def _staff_or_member(staff: str) -> Callable[[Identity], str]:
    return lambda identity: access.MEMBER_ACT if access.is_participant(identity) else staff


async def _allowed(call: CommandCall, action: str | Callable[[Identity], str]) -> CirclesService:
    service: CirclesService = call.service
    state = await service.load(call.case_id)
    access.authorize(call.identity, action(call.identity) if callable(action) else action, state)
    return service


def _as(action: str | Callable[[Identity], str]) -> Run:
    async def run(call: CommandCall, command: Any) -> Any:
        service = await _allowed(call, action)
        return await service.commands.execute(
            call.case_id, command, call.ctx, idempotency_key=call.idempotency_key
        )

    return run


async def _invite(call: CommandCall, body: c.InviteBody) -> Any:
    service = await _allowed(call, access.MANAGE)
    return await service.invite(call.case_id, body, call.ctx, call.identity, call.idempotency_key)


async def _join(call: CommandCall, body: c.JoinBody | None) -> Any:
    service = await _allowed(call, access.MEMBER_ACT)
    return await service.join(call.case_id, body or c.JoinBody(), call.ctx, call.idempotency_key)


async def _leave(call: CommandCall, body: c.LeaveBody | None) -> Any:
    """A person leaves at their own word; the facilitator may relay it, naming them."""
    identity, named = call.identity, (body.person_id if body else None)
    if access.is_participant(identity):
        service = await _allowed(call, access.MEMBER_ACT)
        person = identity.person_id
    else:
        service = await _allowed(call, access.MANAGE)
        if named is None:
            raise Rejected("name the member whose word you relay", field="person_id")
        person = named
    cmd = c.LeaveCircle(person_id=person)
    return await service.commands.execute(
        call.case_id, cmd, call.ctx, idempotency_key=call.idempotency_key
    )


_SESSION = "/sessions/{session_id}"

CIRCLE_COMMANDS = (
    CaseCommand("/form", "form_circle", access.FORM,
                "Form a circle (the practitioner forming it facilitates it)", body=c.FormCircle),
    CaseCommand("/invitations", "invite_member", None,
                "Invite a person, by their case, to the circle", body=c.InviteBody, run=_invite),
    CaseCommand("/membership", "join_circle", None,
                "Join: the invited person's own act, under their circle consent",
                body=c.JoinBody, optional_body=True, run=_join),
    CaseCommand("/leave", "leave_circle", None,
                "Leave (no reason owed); the facilitator may relay a member's word",
                body=c.LeaveBody, optional_body=True, run=_leave),
    CaseCommand("/sessions", "schedule_meeting", access.MANAGE, "Schedule a meeting",
                body=c.ScheduleSession),
    CaseCommand(f"{_SESSION}/held", "meeting_held", access.MANAGE, "A meeting took place",
                build=lambda session_id: c.HoldSession(session_id=session_id)),
    CaseCommand(f"{_SESSION}/halt", "halt_meeting", _staff_or_member(access.MANAGE),
                "Halt a meeting (anyone in the circle; no reason owed; it never resumes)",
                build=lambda session_id: c.HaltSession(session_id=session_id)),
    CaseCommand("/close", "close_circle", access.MANAGE, "Close the circle",
                build=lambda: c.CloseCircle()),
)  # fmt: skip


def router() -> APIRouter:
    api = APIRouter(tags=["circles"])
    command_routes(
        api,
        "/circles/{circle_id}",
        CIRCLE_COMMANDS,
        run_as=_as,
        ids={"session_id": UUID},
        case_id=CircleId,
        key="circle_id",
    )

    @api.get("/circles", summary="The circles the caller may know of")
    async def listing(service: Svc, identity: Caller):
        if access.is_participant(identity):
            # Their own circles only, by id and kind; their members through each circle's view.
            mine = await service.circles_of(identity.person_id)
            return {"circles": [{"circle_id": cid} for cid in mine]}
        access.authorize_list(identity)
        rows = await service.listing(identity.agency)
        if identity.role == Role.PRACTITIONER:
            rows = [r for r in rows if r["facilitator_id"] == identity.person_id]
        return {"circles": [{**r, "kind": str(r["kind"])} for r in rows]}

    @api.get("/circles/{circle_id}", summary="A circle, as the caller may see it")
    async def circle(service: Svc, circle_id: CircleId, identity: Caller):
        state, version = await service.commands.load(circle_id)
        if access.is_participant(identity):
            access.authorize(identity, access.MEMBER_READ, state)
            return await service.member_view(circle_id, state, identity.person_id)
        access.authorize(identity, access.READ, state)
        return await service.staff_view(circle_id, state, version)

    @api.get(
        "/circles/{circle_id}/history",
        summary="The circle's events as recorded by a moment, with causes (staff who read it)",
    )
    async def history(
        service: Svc, circle_id: CircleId, identity: Caller, as_of: Moment | None = None
    ):
        state, _ = await service.commands.load(circle_id)
        access.authorize(identity, access.READ, state)
        events = await service.history(circle_id, as_of)
        return {"circle_id": circle_id, "as_of": as_of, "events": events}

    return api
