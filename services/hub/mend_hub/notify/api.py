"""Routes of reminders and notices: a participant's own reminder choice (read, choose, stop at
once) and a member of staff's own notices. Nobody reads or sets anyone else's: the caller is
the record (the policy below, deny by default)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.security.identity import Identity
from mend_events.security.policy import Policy, Rule, all_of, own_record, same_agency
from mend_events.web.commands import Caller, Ctx, IdempotencyKey, command_response

from mend_hub.notify.domain import Choice, ChooseReminders
from mend_hub.notify.outbox import NotifyOutbox
from mend_hub.notify.service import NotifyService

_OWN = all_of(same_agency, own_record)
POLICY = Policy(
    [
        Rule("reminders.read", PARTICIPANT_ROLES, _OWN),
        Rule("reminders.choose", PARTICIPANT_ROLES, _OWN),
        Rule("reminders.stop", PARTICIPANT_ROLES, _OWN),
        Rule("notices.list", {Role.PRACTITIONER, Role.COORDINATOR}, _OWN),
    ]
)


def authorize(identity: Identity, action: str) -> None:
    POLICY.authorize(identity, action, {"agency": identity.agency, "person_id": identity.person_id})


def _service(request: Request) -> NotifyService:
    return request.app.state.notify


def _outbox(request: Request) -> NotifyOutbox:
    return request.app.state.notify_outbox


Svc = Annotated[NotifyService, Depends(_service)]


def _shown(choice: Choice) -> dict[str, Any]:
    return {
        "person_id": choice.person_id,
        "opted_in": bool(choice.kinds) and choice.route_id is not None,
        "route_id": str(choice.route_id) if choice.route_id else None,
        "kinds": sorted(str(k) for k in choice.kinds),
        "earliest_hour": choice.earliest_hour,
        "latest_hour": choice.latest_hour,
        "lead_hours": choice.lead_hours,
        "timezone": choice.timezone,
    }


def router() -> APIRouter:
    api = APIRouter(tags=["reminders"])

    @api.get("/reminders", summary="Your reminder choice (nothing is sent unless you opt in)")
    async def read(service: Svc, identity: Caller) -> dict[str, Any]:
        authorize(identity, "reminders.read")
        return _shown(await service.choice(identity.agency, identity.person_id))

    @api.put("/reminders", status_code=201, summary="Opt into reminders, on a route, in hours")
    async def choose(
        service: Svc,
        identity: Caller,
        ctx: Ctx,
        body: ChooseReminders,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        authorize(identity, "reminders.choose")
        result = await service.choose(identity, body, ctx, idempotency_key)
        return command_response(response, identity.person_id, result, "person_id")

    @api.post("/reminders/stop", status_code=201, summary="Stop every reminder at once")
    async def stop(service: Svc, identity: Caller, ctx: Ctx, response: Response) -> dict[str, Any]:
        authorize(identity, "reminders.stop")
        result = await service.stop(identity, ctx)
        return command_response(response, identity.person_id, result, "person_id")

    @api.get("/notices", summary="What needs you on your cases (your own notices)")
    async def notices(request: Request, identity: Caller) -> dict[str, Any]:
        authorize(identity, "notices.list")
        outbox = _outbox(request)
        async with request.app.state.runtime_pool.acquire() as conn:
            rows = await outbox.notices(conn, identity.agency, identity.person_id)
        return {"notices": rows}

    return api
