"""Enquiries' HTTP routes: the agency's staff record and follow them up; the enquirer alone
chooses to become a registered person. Every decision goes through `policy` in the service;
a refusal names the field and the reason, never a value."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from mend_events.contracts.actors import PARTICIPANT_ROLES, PSEUDO_ID_PATTERN, Role
from mend_events.contracts.catalog.hub import ContactReadPurpose
from mend_events.errors import Rejected
from mend_events.web.commands import Caller, Ctx, IdempotencyKey, command_response
from pydantic import BaseModel, ConfigDict

from mend_hub.enquiries.commands import EnquiryBody, EnquiryContactBody, OutcomeBody
from mend_hub.enquiries.service import EnquiryService

Ref = Annotated[str, Path(pattern=PSEUDO_ID_PATTERN)]
NO_STORE = "no-store"  # the way back is read once, recorded: no cache keeps a copy


class AccountBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role = Role.HARMED_PERSON


def _service(request: Request) -> EnquiryService:
    return request.app.state.enquiries


Svc = Annotated[EnquiryService, Depends(_service)]


def _answer(response: Response, ref: str, result: Any) -> dict[str, Any]:
    return command_response(response, ref, result, key="enquiry_ref")


def router() -> APIRouter:
    api = APIRouter(prefix="/enquiries", tags=["enquiries"])

    @api.post("", status_code=201, summary="Record an enquiry (anonymous: a reference only)")
    async def record(
        svc: Svc,
        identity: Caller,
        ctx: Ctx,
        body: EnquiryBody,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        result, ref = await svc.record(identity, ctx, body, idempotency_key)
        return _answer(response, ref, result)

    @api.get("", summary="The agency's enquiries and their outcomes, newest first")
    async def listing(svc: Svc, identity: Caller) -> dict[str, Any]:
        return {"enquiries": await svc.list(identity)}

    @api.get("/{ref}", summary="One enquiry (codes and ids: never the way back)")
    async def read(svc: Svc, identity: Caller, ref: Ref) -> dict[str, Any]:
        return await svc.read(identity, ref)

    @api.put("/{ref}/contact", status_code=201, summary="How the enquirer may be contacted back")
    async def contact(
        svc: Svc, identity: Caller, ctx: Ctx, ref: Ref, body: EnquiryContactBody, response: Response
    ) -> dict[str, Any]:
        return _answer(response, ref, await svc.set_contact(identity, ctx, ref, body))

    @api.post("/{ref}/contact/erasure", status_code=201,
              summary="Erase the way back (its key destroyed: unreadable everywhere)")  # fmt: skip
    async def erase(svc: Svc, identity: Caller, ctx: Ctx, ref: Ref, response: Response):
        return _answer(response, ref, await svc.erase_contact(identity, ctx, ref))

    @api.post("/{ref}/contact/reads", status_code=201,
              summary="Read the way back (recorded first, with its purpose)")  # fmt: skip
    async def read_contact(
        svc: Svc,
        identity: Caller,
        ctx: Ctx,
        ref: Ref,
        response: Response,
        purpose: Annotated[ContactReadPurpose, Query()] = ContactReadPurpose.ENQUIRY_FOLLOW_UP,
    ) -> dict[str, Any]:
        response.headers["Cache-Control"] = NO_STORE
        return await svc.contact(identity, ctx, ref, purpose)

    @api.put("/{ref}/outcome", status_code=201, summary="The enquiry's outcome")
    async def outcome(
        svc: Svc, identity: Caller, ctx: Ctx, ref: Ref, body: OutcomeBody, response: Response
    ) -> dict[str, Any]:
        return _answer(response, ref, await svc.record_outcome(identity, ctx, ref, body))

    @api.post("/{ref}/account", status_code=201,
              summary="An activation code for the enquirer (still anonymous)")  # fmt: skip
    async def account(svc: Svc, identity: Caller, ref: Ref, body: AccountBody) -> dict[str, Any]:
        if body.role not in PARTICIPANT_ROLES:
            raise Rejected("a participant's role is one of the participant roles", field="role")
        return await svc.offer_account(identity, ref, body.role)

    @api.post("/{ref}/registration", status_code=201,
              summary="The enquirer chooses to become a registered person")  # fmt: skip
    async def register(svc: Svc, identity: Caller, ctx: Ctx, ref: Ref) -> dict[str, Any]:
        return await svc.register(identity, ctx, ref)

    return api
