"""The sessions service's routes for meetings and the harmed person's own materials (api.py
adds the commands to its table and the reads to its router)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.errors import NotFound
from mend_events.security.disclosure import for_viewer
from mend_events.web.commands import (
    Caller,
    CaseCommand,
    CaseId,
    CommandCall,
    Ctx,
    SessionId,
    app_service,
)

from mend_sessions import access
from mend_sessions import commands as c
from mend_sessions.meetings import material_rows
from mend_sessions.service import SessionsService

Svc = Annotated[SessionsService, Depends(app_service)]


def _written(call: CommandCall, result: Any) -> Any:
    runtime = getattr(call.request.app.state, "runtime", None)
    if result.events and runtime is not None:
        runtime.wake_projections()
    return result


def _on_meeting(action: str) -> Any:
    """A meeting command as `action`, for the people the meeting is for (the domain: each
    answers for themself); an unknown meeting: the case's people may ask, the domain says 404."""

    async def run(call: CommandCall, command: Any) -> Any:
        service: SessionsService = call.service
        state = await service.require_case(call.case_id)
        found = state.meetings.get(getattr(command, "meeting_id", ""))
        access.authorize_on_case(call.identity, action, state,
                                 participants=found.people if found else None)  # fmt: skip
        args = (call.case_id, command, call.ctx, call.idempotency_key)
        if isinstance(command, c.ArrangeMeeting):
            return _written(call, await service.arrange_meeting(*args))
        return _written(call, await service.execute(*args))

    return run


async def _materials(call: CommandCall, command: Any) -> Any:
    """The harmed person's own items: her record (the domain: only the item's owner)."""
    service: SessionsService = call.service
    state = await service.require_case(call.case_id)
    access.authorize_on_case(call.identity, "case.material.write", state)
    args = (call.case_id, command, call.ctx, call.idempotency_key)
    if isinstance(command, c.OfferMaterial):
        return _written(call, await service.offer_material(*args))
    return _written(call, await service.execute(*args))


def _item(command: type) -> Any:
    def build(body: Any = None, item_id: str = "") -> Any:
        return command(item_id=item_id, **(body.model_dump() if body is not None else {}))

    return build


_MEETING, _ITEM = "meetings/{meeting_id}", "materials/{item_id}"
ITEM_COMMANDS = (
    CaseCommand("/meetings", "arrange_meeting", None, body=c.ArrangeMeeting,
                run=_on_meeting("session.meeting.arrange"),
                summary="Arrange a preparation meeting or a contact session's meeting: time and "
                "zone, channel, sealed place, the safety plan's arrangements"),
    CaseCommand(f"/{_MEETING}/availability", "meeting_availability", None,
                body=c.MeetingAvailabilityBody, run=_on_meeting("session.meeting.respond"),
                build=lambda body, meeting_id: c.GiveAvailability(
                    meeting_id=meeting_id, **body.model_dump()),
                summary="Say whether you can attend (someone the meeting is for)"),
    CaseCommand(f"/{_MEETING}/cancel", "cancel_meeting", None,
                build=lambda meeting_id: c.CancelMeeting(meeting_id=meeting_id),
                run=_on_meeting("session.meeting.cancel"),
                summary="Call a meeting off: anyone it is for, or a practitioner; no reason owed"),
    CaseCommand("/materials", "write_material", None, body=c.WriteMaterial, run=_materials,
                summary="Write one of her own items: a question, an impact statement, what she "
                "wants heard (the harmed person)"),
    CaseCommand(f"/{_ITEM}/revise", "revise_material", None, body=c.ReviseMaterialBody,
                build=_item(c.ReviseMaterial), run=_materials,
                summary="Revise an item (its owner)"),
    CaseCommand(f"/{_ITEM}/share", "share_material", None, build=_item(c.ShareMaterial),
                run=_materials, summary="Show an item to the facilitator (its owner)"),
    CaseCommand(f"/{_ITEM}/unshare", "unshare_material", None, build=_item(c.UnshareMaterial),
                run=_materials, summary="Take an item back before it is delivered (its owner)"),
    CaseCommand(f"/{_ITEM}/offer", "offer_material", None, body=c.OfferMaterialBody,
                build=_item(c.OfferMaterial), run=_materials,
                summary="Offer an item to the responsible person as a letter, through the "
                "facilitator's review (its owner)"),
)  # fmt: skip
ITEM_IDS = ("meeting_id", "item_id")


def add_routes(api: APIRouter) -> None:
    @api.get("/cases/{case_id}/meetings",
             summary="The case's meetings (a participant: those they are for) and, for staff, "
             "with whom a safety plan was agreed")  # fmt: skip
    async def meetings(service: Svc, case_id: CaseId, identity: Caller):
        state = await service.require_case(case_id)
        access.authorize_on_case(identity, "session.meeting.list", state)
        doc: dict[str, Any] = {"case_id": case_id,
                               "meetings": await service.meetings(state, identity)}  # fmt: skip
        # Staff see with whom a plan was agreed; not a volunteer (issue 21: their part is the
        # meetings' times and arrangements, not who needs what).
        if identity.role not in PARTICIPANT_ROLES and identity.role != Role.VOLUNTEER:
            plans = await service.safety_plans(case_id)
            doc["safety_plans"] = {p: a.model_dump() for p, a in sorted(plans.items())}
        return for_viewer(identity, doc)

    @api.get("/cases/{case_id}/materials",
             summary="The harmed person's items: hers all, staff's those she shares")  # fmt: skip
    async def materials(service: Svc, case_id: CaseId, identity: Caller):
        state = await service.require_case(case_id)
        access.authorize_on_case(identity, "case.material.list", state)
        return {"case_id": case_id, "materials": material_rows(state, identity)}

    @api.get("/cases/{case_id}/materials/{item_id}",
             summary="Open one item (the read is recorded): its owner, or staff it is shared "
             "with")  # fmt: skip
    async def material(
        service: Svc, case_id: CaseId, item_id: SessionId, identity: Caller, ctx: Ctx
    ):
        state = await service.require_case(case_id)
        access.authorize_on_case(identity, "case.material.open", state)
        item = state.materials.get(item_id)
        if item is None:
            raise NotFound("no such item in this case", field="item_id")
        text = await service.open_material(case_id, item_id, ctx)
        return {"item_id": item.id, "kind": item.kind, "content": text}
