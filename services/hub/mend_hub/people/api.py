"""The people directory's HTTP routes. Every route decides through `policy` (in the service);
a refusal names the field and the reason, never a value sent or stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from mend_events.commands.decider import CommandContext
from mend_events.commands.idempotency import RequestKey
from mend_events.contracts.actors import PSEUDO_ID_PATTERN
from mend_events.contracts.catalog.hub import ContactReadPurpose
from mend_events.security.identity import Identity
from mend_events.web.commands import (
    Caller,
    Ctx,
    IdempotencyKey,
    command_response,
    request_digest,
)

from mend_hub.people.commands import ContactRouteBody, RecordDetails, RegisterPerson
from mend_hub.people.service import PeopleService

PersonId = Annotated[str, Path(pattern=PSEUDO_ID_PATTERN)]
# A person's details are kept by no cache between the hub and the reader (a shared proxy, the
# browser's disk): each read is recorded, a cached copy would be an unrecorded one.
NO_STORE = "no-store"


def people_service(request: Request) -> PeopleService:
    """The app's people directory (set by the hub's start hook)."""
    return request.app.state.people


People = Annotated[PeopleService, Depends(people_service)]


@dataclass(frozen=True, slots=True)
class Asked:
    """What every command on the directory arrives with: the directory, who asks and when,
    and the client's idempotency key (if any)."""

    people: PeopleService
    identity: Identity
    ctx: CommandContext
    key: str | None


def asked(
    people: People, identity: Caller, ctx: Ctx, idempotency_key: IdempotencyKey = None
) -> Asked:
    return Asked(people, identity, ctx, idempotency_key)


Asking = Annotated[Asked, Depends(asked)]


def _key(key: str | None, route: str, ids: dict[str, Any], body: Any) -> RequestKey | None:
    """A key bound to a request without personal text (the details and routes bind theirs in
    the service, with the text sealed first: `PeopleService.request_key`)."""
    return None if key is None else RequestKey(key, request_digest(route, ids, body))


def _answer(response: Response, person_id: str, result: Any, **extra: Any) -> dict[str, Any]:
    """Every command's answer (`command_response`: 201 when something was written, 200 when it
    was so already), named by the person."""
    return {**command_response(response, person_id, result, key="person_id"), **extra}


def router() -> APIRouter:
    api = APIRouter(prefix="/people", tags=["people"])

    @api.post("", status_code=201, summary="Register a participant in the agency's directory")
    async def register(a: Asking, body: RegisterPerson, response: Response) -> dict[str, Any]:
        key = _key(a.key, "people.register", {}, body)
        result = await a.people.register(a.identity, a.ctx, body, key)
        return _answer(response, body.person_id, result)

    @api.put(
        "/{person_id}/details",
        status_code=201,
        summary="Record the person's details (sealed under their data key)",
    )
    async def details(
        a: Asking, person_id: PersonId, body: RecordDetails, response: Response
    ) -> dict[str, Any]:
        result = await a.people.record_details(a.identity, a.ctx, person_id, body, a.key)
        return _answer(response, person_id, result)

    @api.post(
        "/{person_id}/contact-routes",
        status_code=201,
        summary="Record a safe way to reach the person (sealed under their data key)",
    )
    async def add_route(
        a: Asking, person_id: PersonId, body: ContactRouteBody, response: Response
    ) -> dict[str, Any]:
        result, route_id = await a.people.add_route(a.identity, a.ctx, person_id, body, a.key)
        return _answer(response, person_id, result, route_id=str(route_id))

    @api.delete("/{person_id}/contact-routes/{route_id}", summary="Remove a contact route")
    async def remove_route(
        people: People,
        identity: Caller,
        ctx: Ctx,
        person_id: PersonId,
        route_id: UUID,
        response: Response,
    ) -> dict[str, Any]:
        result = await people.remove_route(identity, ctx, person_id, route_id)
        answer = _answer(response, person_id, result)
        response.status_code = 200
        return answer

    @api.get("/{person_id}", summary="The person's details, as the caller may see them")
    async def read_details(
        people: People, identity: Caller, person_id: PersonId, response: Response
    ):
        response.headers["Cache-Control"] = NO_STORE
        return await people.details(identity, person_id)

    @api.get(
        "/{person_id}/contact",
        summary="The person's contact routes: every read names its purpose and is recorded",
    )
    async def read_contact(
        people: People,
        identity: Caller,
        ctx: Ctx,
        person_id: PersonId,
        purpose: Annotated[ContactReadPurpose, Query()],
        response: Response,
    ):
        response.headers["Cache-Control"] = NO_STORE
        return await people.contact(identity, ctx, person_id, purpose)

    @api.get(
        "/{person_id}/reads",
        summary="Who read the person's contact details, when and why (never the details)",
    )
    async def reads(people: People, identity: Caller, person_id: PersonId):
        return await people.reads(identity, person_id)

    return api
