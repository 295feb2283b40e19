"""The HTTP API of a case's community team conferences (issue 21): one command table, two reads.
Every call is authorised on the case and the conference it names (access.CONFERENCE_POLICY):
a conference the caller may not reach is 403 whether or not it exists, so its existence is
never learnt by a stranger; a conference they may reach but that is not there is 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from mend_events.contracts.actors import PSEUDO_ID_PATTERN
from mend_events.errors import NotFound
from mend_events.security.disclosure import for_viewer
from mend_events.security.identity import Identity
from mend_events.web.commands import (
    Caller,
    CaseCommand,
    CaseId,
    CommandCall,
    Run,
    app_service,
    command_routes,
)

from mend_aftercare import access
from mend_aftercare import conference_commands as cc
from mend_aftercare.conferences import Conferences
from mend_aftercare.domain.conferences import ConferencesState
from mend_aftercare.service import AftercareService

CONFERENCE_ID_PATTERN = r"^conf-[A-Za-z0-9_-]{4,64}$"
ConferenceId = Annotated[str, Path(pattern=CONFERENCE_ID_PATTERN)]
MemberId = Annotated[str, Path(pattern=PSEUDO_ID_PATTERN)]
Svc = Annotated[AftercareService, Depends(app_service)]


async def allow(
    service: AftercareService, case_id: str, identity: Identity, action: str,
    conference_id: str | None = None,
) -> tuple[ConferencesState, dict[str, Any]]:  # fmt: skip
    """Authorise `action` on the case's conferences (or on one of them); the state and the
    access resource, for the view."""
    entry = await service.case(case_id)
    state = await service.conferences.load(case_id)
    if conference_id is not None:
        found = state.conferences.get(conference_id)
        members = found.taking_part() if found else {}
    else:  # the list: anyone taking part in any of them (the view shows each only theirs)
        members = {k: v for x in state.conferences.values() for k, v in x.taking_part().items()}
    harmed = state.harmed_person_id or (entry.harmed_person_id if entry else None)
    resource = {"harmed_person_id": harmed, "taking_part": members}
    entry = access.authorize_conference(identity, action, entry, **resource)
    return state, {**resource, "agency": entry.agency, "case_id": entry.case_id,
                   "members": entry.members}  # fmt: skip


def _on(action: str) -> Run:
    """Run a conference command as `action` on the conference in the path."""

    async def run(call: CommandCall, command: Any) -> Any:
        service: AftercareService = call.service
        conference_id = call.ids.get("conference_id")
        await allow(service, call.case_id, call.identity, action, conference_id)
        conferences: Conferences = service.conferences
        key = call.idempotency_key
        if isinstance(command, cc.ConferenceBody):
            return await conferences.schedule(call.case_id, command, call.ctx, key)
        if isinstance(command, cc.AgreeActionAt):
            return await conferences.agree(call.case_id, command, call.ctx, key)
        return await conferences.execute(call.case_id, command, call.ctx, key)

    return run


_ONE = "/{conference_id}"

# POST /cases/{case_id}/conferences<path>, each run as its action.
CONFERENCE_COMMANDS = (
    CaseCommand("", "schedule_conference", access.CONF_MANAGE,
                "Schedule a conference (a series, with a cadence), in the harmed person's "
                "participation consent", body=cc.ConferenceBody),
    CaseCommand(f"{_ONE}/members", "invite_member", access.CONF_MANAGE,
                "Invite a community member (they take part once the harmed person agrees)",
                body=cc.InviteMember,
                build=lambda body, conference_id: cc.InviteTo(
                    **body.model_dump(), conference_id=conference_id)),
    CaseCommand(f"{_ONE}/members/{{member_id}}/answer", "answer_invitation", access.CONF_ANSWER,
                "The harmed person's word on a member's invitation (hers, or relayed)",
                body=cc.AnswerInvitation,
                build=lambda body, conference_id, member_id: cc.AnswerFor(
                    **body.model_dump(), conference_id=conference_id, member_id=member_id)),
    CaseCommand(f"{_ONE}/meetings", "hold_conference", access.CONF_RECORD,
                "A meeting took place: who attended, its words (sealed) and needs (codes)",
                body=cc.HoldConference,
                build=lambda body, conference_id: cc.HoldMeeting(
                    **body.model_dump(), conference_id=conference_id)),
    CaseCommand(f"{_ONE}/actions", "agree_action", access.CONF_RECORD,
                "An action agreed: it becomes a commitment, a check-in or a referral",
                body=cc.AgreeAction,
                build=lambda body, conference_id: cc.AgreeActionAt(
                    **body.model_dump(), conference_id=conference_id)),
    CaseCommand(f"{_ONE}/cancellation", "cancel_conference", access.CONF_MANAGE,
                "Cancel the conference (no reason owed)",
                build=lambda conference_id: cc.CancelOne(conference_id=conference_id)),
)  # fmt: skip


def router() -> APIRouter:
    api = APIRouter(tags=["conferences"])
    base = "/cases/{case_id}/conferences"
    command_routes(
        api, base, CONFERENCE_COMMANDS, run_as=_on,
        ids={"conference_id": ConferenceId, "member_id": MemberId}, case_id=CaseId,
    )  # fmt: skip

    @api.get(base, summary="The case's conferences, as the caller may see them")
    async def listing(service: Svc, case_id: CaseId, identity: Caller) -> dict[str, Any]:
        state, resource = await allow(service, case_id, identity, access.CONF_LIST)
        rows = await service.conferences.view(case_id, identity, state, resource)
        return for_viewer(identity, {"case_id": case_id, "conferences": rows})

    @api.get(f"{base}{_ONE}", summary="One conference, as the caller may see it")
    async def one(
        service: Svc, case_id: CaseId, conference_id: ConferenceId, identity: Caller
    ) -> dict[str, Any]:
        state, resource = await allow(service, case_id, identity, access.CONF_READ, conference_id)
        rows = await service.conferences.view(case_id, identity, state, resource, conference_id)
        if not rows:
            raise NotFound("no such conference in this case", field="conference_id")
        return for_viewer(identity, rows[0])

    return api
