"""The hub's HTTP API: agencies, staff and allocations. Every call carries a verified identity;
access.py decides who may; commands go through the pure domain (service.py). Three tables of
command routes (`command_routes`), one per kind of record, and the reads.

Other parts of the hub (sign-in, the people directory) add their routes in their own modules,
each with a `mount(app, runtime, service_of)` like this one's, listed in app.py's `PARTS`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request, Response
from mend_events.app.composition import ServiceOf
from mend_events.app.runtime import ServiceRuntime
from mend_events.app.settings import is_production
from mend_events.commands.idempotency import RequestKey
from mend_events.contracts.actors import PSEUDO_ID_PATTERN, Role
from mend_events.errors import NotFound, Rejected
from mend_events.web.commands import (
    Caller,
    CaseCommand,
    CaseId,
    CommandCall,
    Ctx,
    IdempotencyKey,
    Run,
    app_service,
    command_response,
    command_routes,
    request_digest,
)

from mend_hub import access
from mend_hub import commands as c
from mend_hub.demo import DEMO_AGENCY
from mend_hub.service import HubService

AgencyIdPath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{1,63}$")]
PersonIdPath = Annotated[str, Path(pattern=PSEUDO_ID_PATTERN)]
KidPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Svc = Annotated[HubService, Depends(app_service)]

# ---- agencies: POST /agencies/{agency_id}<path> ------------------------------------------------


def _on_agency(action: str) -> Run:
    async def run(call: CommandCall, command: Any) -> Any:
        access.authorize(call.identity, action, call.case_id)
        service: HubService = call.service
        return await service.on_agency(call.case_id, command, call.ctx, call.idempotency_key)

    return run


def _retirement(body: c.RetireKeyBody | None, kid: str) -> c.RetireAgencyKey:
    return c.RetireAgencyKey(kid, body.retired_at if body else None)


AGENCY_COMMANDS = (
    CaseCommand("/keys", "add_agency_key", access.CONFIGURE,
                "Add a public key that verifies the agency's tokens", body=c.AddAgencyKey),
    CaseCommand("/keys/{kid}/retirement", "retire_agency_key", access.CONFIGURE,
                "Retire a key (now, or at a later moment so the next key overlaps it)",
                body=c.RetireKeyBody, optional_body=True, build=_retirement),
    CaseCommand("/sharing-key", "set_sharing_key", access.CONFIGURE,
                "Set the agency's X25519 key for what partners receive (issue 18)",
                body=c.SetSharingKey),
    CaseCommand("/identity-provider", "set_identity_provider", access.CONFIGURE,
                "Set the agency's OpenID Connect provider", body=c.SetIdentityProvider),
    CaseCommand("/rule-pack", "adopt_rule_pack", access.CONFIGURE,
                "Adopt a rule pack version: the agency's decisions are made under it from now "
                "on, and standing decisions judged by it", body=c.AdoptRulePack),
    CaseCommand("/suspension", "suspend_agency", access.GOVERN,
                "Suspend the agency: every token of it is refused", body=c.SuspendAgency),
    CaseCommand("/reinstatement", "reinstate_agency", access.GOVERN,
                "Reinstate a suspended agency", build=c.ReinstateAgency),
)  # fmt: skip

# ---- staff: POST /agencies/{agency_id}/staff<path> ---------------------------------------------


def _on_staff(rule: tuple[str, Any]) -> Run:
    """`rule`: the action, and how the body becomes the domain command for the agency."""
    action, make = rule

    async def run(call: CommandCall, body: Any) -> Any:
        access.authorize(call.identity, action, call.case_id)
        service: HubService = call.service
        person = call.ids["person_id"]
        command = make(call.case_id, body)
        return await service.on_staff(person, command, call.ctx, call.idempotency_key)

    return run


async def _enrol(call: CommandCall, body: c.EnrolBody) -> Any:
    # A coordinator is enrolled by the agency's coordinators or the deployment's operators
    # (an agency's first coordinator); anyone else by the agency's coordinators only.
    coordinator = body.role is Role.COORDINATOR
    action = access.ENROL_COORDINATOR if coordinator else access.STAFF_WRITE
    access.authorize(call.identity, action, call.case_id)
    service: HubService = call.service
    command = c.EnrolStaff(call.case_id, body.person_id, body.role)
    return await service.on_staff(body.person_id, command, call.ctx, call.idempotency_key)


_WRITE = access.STAFF_WRITE

STAFF_COMMANDS = (
    CaseCommand("", "enrol_staff", None, "Enrol a member of staff", body=c.EnrolBody,
                run=_enrol),
    CaseCommand("/{person_id}/qualifications", "record_qualifications",
                (_WRITE, lambda agency, b: c.RecordQualifications(agency, **b.model_dump())),
                "Record a practitioner's qualifications (a later record supersedes it)",
                body=c.QualificationsBody),
    CaseCommand("/{person_id}/deactivation", "deactivate_staff",
                (_WRITE, lambda agency, b: c.DeactivateStaff(agency, b.reason)),
                "Deactivate: their sign-in and every allocation of theirs end at once",
                body=c.DeactivateBody),
    CaseCommand("/{person_id}/reactivation", "reactivate_staff",
                (_WRITE, lambda agency, _: c.ReactivateStaff(agency)),
                "Reactivate a deactivated member of staff", build=lambda person_id: None),
    CaseCommand("/{person_id}/vetting", "record_vetting",
                (access.VOLUNTEER_WRITE, lambda agency, b: c.RecordVetting(agency, **dict(b))),
                "Record a volunteer's vetting check, its outcome and until when it is current "
                "(not clear: their allocations end)", body=c.VettingBody),
    CaseCommand("/{person_id}/training", "record_training",
                (access.VOLUNTEER_WRITE, lambda agency, b: c.RecordTraining(agency, **dict(b))),
                "Record a course a volunteer completed", body=c.TrainingBody),
)  # fmt: skip

# ---- allocations: POST /cases/{case_id}/allocations<path> --------------------------------------


async def _case_agency(call: CommandCall) -> str:
    """The case's agency, from its opening; the caller must be allowed on it."""
    service: HubService = call.service
    entry = await service.case(call.case_id)
    return access.authorize_on_case(call.identity, access.ALLOCATE, entry).agency


async def _allocate(call: CommandCall, body: c.AllocateBody) -> Any:
    agency = await _case_agency(call)
    return await call.service.allocate(call.case_id, agency, body, call.ctx, call.idempotency_key)


async def _deallocate(call: CommandCall, body: c.DeallocateBody) -> Any:
    agency = await _case_agency(call)
    person = call.ids["practitioner_id"]
    service: HubService = call.service
    return await service.deallocate(
        call.case_id, agency, person, body, call.ctx, call.idempotency_key
    )


async def _reallocate(call: CommandCall, body: c.ReallocateBody) -> Any:
    agency = await _case_agency(call)
    service: HubService = call.service
    return await service.reallocate(call.case_id, agency, body, call.ctx, call.idempotency_key)


async def _allocate_volunteer(call: CommandCall, body: c.VolunteerAllocateBody) -> Any:
    agency = await _case_agency(call)
    service: HubService = call.service
    return await service.allocate_volunteer(
        call.case_id, agency, body, call.ctx, call.idempotency_key
    )


async def _deallocate_volunteer(call: CommandCall, body: c.DeallocateBody) -> Any:
    agency = await _case_agency(call)
    service: HubService = call.service
    return await service.deallocate_volunteer(
        call.case_id, agency, call.ids["volunteer_id"], body, call.ctx, call.idempotency_key
    )


VOLUNTEER_COMMANDS = (
    CaseCommand("", "allocate_volunteer", None,
                "Allocate a vetted, trained volunteer of the agency to the case for one part",
                body=c.VolunteerAllocateBody, run=_allocate_volunteer),
    CaseCommand("/{volunteer_id}/end", "deallocate_volunteer", None,
                "End a volunteer's allocation to the case", body=c.DeallocateBody,
                run=_deallocate_volunteer),
)  # fmt: skip

ALLOCATION_COMMANDS = (
    CaseCommand("", "allocate_case", None, "Allocate a practitioner of the agency to the case",
                body=c.AllocateBody, run=_allocate),
    CaseCommand("/{practitioner_id}/end", "deallocate_case", None,
                "End a practitioner's allocation to the case", body=c.DeallocateBody,
                run=_deallocate),
    CaseCommand("/reallocation", "reallocate_case", None,
                "Reallocate: the old practitioner's allocation ends, the new one's begins",
                body=c.ReallocateBody, run=_reallocate),
)  # fmt: skip


def router() -> APIRouter:
    api = APIRouter(tags=["hub"])
    agency = "/agencies/{agency_id}"
    on_agency = {"key": "agency_id", "case_id": AgencyIdPath}
    command_routes(api, agency, AGENCY_COMMANDS, run_as=_on_agency, ids={"kid": KidPath},
                   **on_agency)  # fmt: skip
    command_routes(api, f"{agency}/staff", STAFF_COMMANDS, run_as=_on_staff,
                   ids={"person_id": PersonIdPath}, **on_agency)  # fmt: skip
    command_routes(api, "/cases/{case_id}/allocations", ALLOCATION_COMMANDS, run_as=_on_agency,
                   ids={"practitioner_id": PersonIdPath}, case_id=CaseId)  # fmt: skip
    command_routes(api, "/cases/{case_id}/volunteers", VOLUNTEER_COMMANDS, run_as=_on_agency,
                   ids={"volunteer_id": PersonIdPath}, case_id=CaseId)  # fmt: skip

    @api.post(
        "/agencies", status_code=201, summary="Onboard an agency (the deployment's operators)"
    )
    async def onboard_agency(
        request: Request,
        body: c.OnboardAgency,
        service: Svc,
        ctx: Ctx,
        identity: Caller,
        response: Response,
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        access.authorize(identity, access.GOVERN, body.agency_id)
        if body.agency_id == DEMO_AGENCY and is_production():
            raise Rejected("the demo agency is never onboarded in production", field="agency_id")
        key = None
        if idempotency_key is not None:
            key = RequestKey(idempotency_key, request_digest("onboard_agency", {}, body))
        result = await service.onboard(body, ctx, key)
        answer = command_response(response, body.agency_id, result, "agency_id")
        # What other parts do once an agency is onboarded, in the same request (the sign-in
        # makes a local agency's first signing key): each hook adds to the answer.
        for hook in getattr(request.app.state, "after_onboarding", ()):
            answer.update(await hook(body))
        return answer

    # --- reads ----------------------------------------------------------------------------------

    @api.get(agency, summary="The agency's record: name, sign-in, keys, identity provider")
    async def agency_record(service: Svc, agency_id: AgencyIdPath, identity: Caller):
        access.authorize(identity, access.READ_AGENCY, agency_id)
        state = await service.agency(agency_id)
        if not state.onboarded:
            raise NotFound("no agency with this id is onboarded", field="agency_id")
        return service.agency_view(state)

    @api.get(f"{agency}/staff", summary="The agency's staff: role, status, qualifications")
    async def staff_list(service: Svc, agency_id: AgencyIdPath, identity: Caller):
        access.authorize(identity, access.STAFF_LIST, agency_id)
        return {"agency_id": agency_id, "staff": await service.staff_list(agency_id)}

    @api.get(
        f"{agency}/volunteers/{{person_id}}",
        summary="A volunteer's vetting and training, and what each part still needs",
    )
    async def volunteer_record(
        service: Svc, agency_id: AgencyIdPath, person_id: PersonIdPath, identity: Caller
    ):
        access.authorize(identity, access.VOLUNTEER_READ, agency_id, person_id=person_id)
        return await service.volunteer_record(agency_id, person_id)

    @api.get("/cases/{case_id}/allocations", summary="Who is allocated, and the history")
    async def allocation_history(service: Svc, case_id: CaseId, identity: Caller):
        access.authorize_on_case(identity, access.HISTORY, await service.case(case_id))
        return await service.history(case_id)

    @api.get("/practitioners/{person_id}/caseload", summary="A practitioner's cases now")
    async def caseload(service: Svc, person_id: PersonIdPath, identity: Caller):
        # Their agency as the hub knows it; someone it does not know is looked for in the
        # caller's own agency (an empty caseload), so no answer tells another agency's apart.
        staff = await service.staff(person_id)
        agency = staff.agency_id or identity.agency
        access.authorize(identity, access.CASELOAD, agency, person_id=person_id)
        return {"person_id": person_id, "cases": await service.caseload(person_id)}

    return api


def mount(app: FastAPI, runtime: ServiceRuntime, service_of: ServiceOf[HubService]) -> None:
    """This part's routes on the hub's app (app.py calls every part's `mount`)."""
    app.include_router(router())
