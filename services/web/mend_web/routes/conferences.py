"""The practitioner's community team conferences of a case (/cases/{id}/conferences): each
conference (a series, in the zone it was scheduled in), the community members invited and the
harmed person's word on each, the meetings with their minutes (sealed under her key; the
aftercare service opens them for the allocated practitioner), the actions agreed and what they
became; scheduling, inviting, recording a meeting, agreeing an action, cancelling. The aftercare
service decides every step; a refusal is shown as its plain reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from mend_events.contracts.actors import PSEUDO_ID_PATTERN
from mend_events.contracts.catalog.aftercare import (
    CommitmentCode,
    ConferenceCadence,
    ConferenceMemberRole,
    ConferenceNeed,
    InvitationAnswer,
    ReferralKind,
)

from mend_web import participant_text as words
from mend_web.i18n import gettext as _
from mend_web.pages import Viewer, render, services, viewer
from mend_web.participant_casework import shown_at, zone_or_none
from mend_web.services import ServiceError

Practitioner = Annotated[Viewer, Depends(viewer("practitioner"))]
CasePath = Annotated[str, Path(pattern=r"^case-[a-z0-9-]{3,60}$")]
ConfPath = Annotated[str, Path(pattern=r"^conf-[A-Za-z0-9_-]{4,64}$")]
Person = Annotated[str, Form(pattern=PSEUDO_ID_PATTERN)]
MemberPath = Annotated[str, Path(pattern=PSEUDO_ID_PATTERN)]
Text = Annotated[str, Form(max_length=20_000)]
# Whose plan a referral belongs to: `<person id>:harmed_person|responsible_person`.
_PLAN = f"^(|{PSEUDO_ID_PATTERN[1:-1]}:(harmed_person|responsible_person))$"
_WORDS = ("minutes", "updates", "successes", "further_needs")


def _when(iso: str | None, zone: str) -> dict[str, str] | None:
    return shown_at(iso, zone_or_none(zone) or ZoneInfo("UTC")) if iso else None


async def _page(request: Request, me: Viewer, case_id: str, **extra: Any) -> Response:
    svc = services(request)
    case = await svc.case(me.token, case_id)  # only a case the sessions service shows them
    rows = [{**c, "first": _when(c["starts_at"], c["zone"]),
             "next": _when(c["next_meeting_at"], c["zone"])}
            for c in await svc.conferences(me.token, case_id)]  # fmt: skip
    ctx = {"case_id": case_id, "conferences": rows, "zones": words.ZONES,
           "harmed_person_id": case.get("harmed_person_id"),
           "cadences": [str(c) for c in ConferenceCadence],
           "member_roles": [str(r) for r in ConferenceMemberRole],
           "needs": [str(n) for n in ConferenceNeed],
           "codes": [str(c) for c in CommitmentCode],
           "referral_kinds": [str(k) for k in ReferralKind],
           "plans": [(p, r) for p, r in ((case.get("harmed_person_id"), "harmed_person"),
                                         (case.get("responsible_person_id"), "responsible_person"))
                     if p], **extra}  # fmt: skip
    return render(request, "practitioner/conferences.html", ctx,
                  status_code=extra.get("status", 200))  # fmt: skip


async def _acting(
    request: Request, me: Viewer, case_id: str, path: str, body: dict[str, Any] | None = None
) -> Response:
    try:
        await services(request).conference_command(me.token, case_id, path, body)
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise
        return await _page(request, me, case_id, problem=exc.reason or "-", status=exc.status)
    return RedirectResponse(f"/cases/{case_id}/conferences", status_code=303)


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/cases/{case_id}/conferences")
    async def conferences(request: Request, me: Practitioner, case_id: CasePath) -> Response:
        return await _page(request, me, case_id)

    @r.post("/cases/{case_id}/conferences")
    async def schedule(
        request: Request, me: Practitioner, case_id: CasePath,
        day: Annotated[str, Form(pattern=r"^\d{4}-\d{2}-\d{2}$")],
        time: Annotated[str, Form(pattern=r"^\d{2}:\d{2}$")],
        timezone: Annotated[str, Form(max_length=64)],
        cadence: Annotated[ConferenceCadence, Form()] = ConferenceCadence.ONCE,
    ) -> Response:  # fmt: skip
        zone = zone_or_none(timezone)
        if zone is None:
            return await _page(request, me, case_id, problem=_("A known time zone"), status=422)
        at = datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=zone).astimezone(UTC)
        body = {"conference_id": f"conf-{uuid4().hex[:12]}", "starts_at": at.isoformat(),
                "zone": timezone, "cadence": str(cadence)}  # fmt: skip
        return await _acting(request, me, case_id, "", body)

    @r.post("/cases/{case_id}/conferences/{conference_id}/members")
    async def invite(
        request: Request, me: Practitioner, case_id: CasePath, conference_id: ConfPath,
        member_id: Person, member_role: Annotated[ConferenceMemberRole, Form()],
    ) -> Response:  # fmt: skip
        body = {"member_id": member_id, "member_role": str(member_role)}
        return await _acting(request, me, case_id, f"/{conference_id}/members", body)

    @r.post("/cases/{case_id}/conferences/{conference_id}/members/{member_id}/answer")
    async def her_word(
        request: Request, me: Practitioner, case_id: CasePath, conference_id: ConfPath,
        member_id: MemberPath, answer: Annotated[InvitationAnswer, Form()],
    ) -> Response:  # fmt: skip
        """Her word as she gave it to her practitioner (her own page records it herself)."""
        path = f"/{conference_id}/members/{member_id}/answer"
        return await _acting(request, me, case_id, path, {"answer": str(answer)})

    @r.post("/cases/{case_id}/conferences/{conference_id}/meetings")
    async def held(
        request: Request, me: Practitioner, case_id: CasePath, conference_id: ConfPath,
        attendees: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI's form list
        needs: Annotated[list[ConferenceNeed], Form()] = [],  # noqa: B006
        minutes: Text = "", updates: Text = "", successes: Text = "", further_needs: Text = "",
    ) -> Response:  # fmt: skip
        said = dict(zip(_WORDS, (minutes, updates, successes, further_needs), strict=True))
        body: dict[str, Any] = {
            "held_at": datetime.now(UTC).isoformat(), "attendee_ids": attendees,
            "needs": [str(n) for n in needs],
            **{k: v.strip() for k, v in said.items() if v.strip()},
        }  # fmt: skip
        return await _acting(request, me, case_id, f"/{conference_id}/meetings", body)

    @r.post("/cases/{case_id}/conferences/{conference_id}/actions")
    async def action(
        request: Request, me: Practitioner, case_id: CasePath, conference_id: ConfPath,
        assignee_id: Person,
        kind: Annotated[str, Form(pattern=r"^(commitment|referral)$")] = "commitment",
        commitment_code: Annotated[CommitmentCode | None, Form()] = None,
        referral_kind: Annotated[ReferralKind | None, Form()] = None,
        participant: Annotated[str, Form(pattern=_PLAN)] = "",
        due_on: Annotated[str, Form(pattern=r"^(|\d{4}-\d{2}-\d{2})$")] = "",
    ) -> Response:  # fmt: skip
        """A commitment of its owner, or a referral in a participant's plan followed up by the
        assignee: what the aftercare service makes of it (a CommitmentRecorded, a ReferralMade)."""
        body: dict[str, Any] = {"action_id": str(uuid4()), "kind": kind,
                                "assignee_id": assignee_id, "due_on": due_on or None}  # fmt: skip
        if kind == "commitment":
            body["commitment_code"] = str(commitment_code) if commitment_code else None
        else:
            person, _sep, role = participant.partition(":")
            body["referral_kind"] = str(referral_kind) if referral_kind else None
            body |= {"participant_id": person or None, "participant_role": role or None}
        return await _acting(request, me, case_id, f"/{conference_id}/actions", body)

    @r.post("/cases/{case_id}/conferences/{conference_id}/cancel")
    async def cancel(
        request: Request, me: Practitioner, case_id: CasePath, conference_id: ConfPath
    ) -> Response:
        return await _acting(request, me, case_id, f"/{conference_id}/cancellation")

    return r
