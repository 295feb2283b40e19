"""The practitioner's meetings page of a case (/cases/{id}/meetings): every meeting with its
time (in the zone it was arranged in), channel, place, the safety plan's arrangements and who
said they can attend; whether a safety plan was agreed with the harmed person (direct contact
waits for it); arranging a preparation meeting or a scheduled session's meeting, and calling
one off. And the harmed person's items she shares (/cases/{id}/materials), each opened (the
sessions service records the read first). A refusal is shown as the service's plain reason."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from mend_events.contracts.catalog.sessions import MeetingChannel

from mend_web import participant_text as words
from mend_web.i18n import gettext as _
from mend_web.pages import Viewer, render, services, viewer
from mend_web.participant_casework import shown_at, zone_or_none
from mend_web.services import ServiceError

Practitioner = Annotated[Viewer, Depends(viewer("practitioner"))]
CasePath = Annotated[str, Path(pattern=r"^case-[a-z0-9-]{3,60}$")]
IdPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
# Whom or what a meeting is for: `prep:<person id>` or `session:<session id>`.
For = Annotated[str, Form(pattern=r"^(prep|session):[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")]
DIRECT = ("face_to_face", "conference", "family_circle", "healing_circle", "story_telling")
ASKS = ("separate_arrival_departure", "breaks", "support_person_present")
Ask = Annotated[bool, Form()]
UTC_ZONE = ZoneInfo("UTC")


async def _meetings_page(request: Request, me: Viewer, case_id: str, **extra: Any) -> Response:
    svc = services(request)
    case = await svc.case(me.token, case_id)  # only a case the sessions service shows them
    doc = await svc.meetings(me.token, case_id)
    meetings = [{**m, "when": shown_at(m["at"], zone_or_none(m["timezone"]) or UTC_ZONE)}
                for m in doc.get("meetings", [])]  # fmt: skip
    people = sorted({p["id"] for s in case.get("sessions", []) for p in s["participants"]}
                    | {case.get("harmed_person_id"), case.get("responsible_person_id")}
                    - {None})  # fmt: skip
    sessions = [s for s in case.get("sessions", [])
                if s["status"] == "scheduled" and s["form"] in DIRECT]  # fmt: skip
    plans = doc.get("safety_plans", {})
    ctx = {"case_id": case_id, "meetings": meetings, "people": people, "sessions": sessions,
           "plan": plans.get(case.get("harmed_person_id") or ""), "plans": plans,
           "channels": [str(c) for c in MeetingChannel], "zones": words.ZONES,
           "words": words, **extra}  # fmt: skip
    status = extra.get("status", 200)
    return render(request, "practitioner/meetings.html", ctx, status_code=status)


async def _acting(request: Request, me: Viewer, case_id: str, act: Any) -> Response:
    try:
        await act
    except ServiceError as exc:
        if exc.status not in (409, 422):
            raise
        return await _meetings_page(request, me, case_id, problem=exc.reason or "-",
                                    status=exc.status)  # fmt: skip
    return RedirectResponse(f"/cases/{case_id}/meetings", status_code=303)


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/cases/{case_id}/meetings")
    async def meetings(request: Request, me: Practitioner, case_id: CasePath) -> Response:
        return await _meetings_page(request, me, case_id)

    @r.post("/cases/{case_id}/meetings")
    async def arrange(
        request: Request, me: Practitioner, case_id: CasePath, meeting_for: For,
        timezone: Annotated[str, Form(max_length=64)],
        channel: Annotated[MeetingChannel, Form()],
        day: Annotated[str, Form(pattern=r"^(|\d{4}-\d{2}-\d{2})$")] = "",
        time: Annotated[str, Form(pattern=r"^(|\d{2}:\d{2})$")] = "",
        place: Annotated[str, Form(max_length=2_000)] = "",
        note: Annotated[str, Form(max_length=2_000)] = "",
        separate_arrival_departure: Ask = False, breaks: Ask = False,
        support_person_present: Ask = False,
    ) -> Response:  # fmt: skip
        kind, target = meeting_for.split(":", 1)
        body: dict[str, Any] = {
            "meeting_id": f"meet-{uuid4().hex[:12]}", "timezone": timezone,
            "channel": str(channel), "place": place.strip() or None,
            "arrangements_note": note.strip() or None,
            "arrangements": {"separate_arrival_departure": separate_arrival_departure,
                             "breaks": breaks, "support_person_present": support_person_present},
        }  # fmt: skip
        if kind == "session":
            body |= {"purpose": "contact", "session_id": target}
        else:
            zone = zone_or_none(timezone)
            if zone is None or not day or not time:
                return await _meetings_page(
                    request,
                    me,
                    case_id,
                    status=422,
                    problem=_("A day, a time and a known time zone"),
                )
            at = datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=zone)
            body |= {"purpose": "preparation", "with_id": target, "at": at.isoformat()}
        act = services(request).meeting_command(me.token, case_id, None, "", body)
        return await _acting(request, me, case_id, act)

    @r.post("/cases/{case_id}/meetings/{meeting_id}/cancel")
    async def cancel(
        request: Request, me: Practitioner, case_id: CasePath, meeting_id: IdPath
    ) -> Response:
        act = services(request).meeting_command(me.token, case_id, meeting_id, "cancel")
        return await _acting(request, me, case_id, act)

    @r.get("/cases/{case_id}/materials")
    async def materials(request: Request, me: Practitioner, case_id: CasePath) -> Response:
        svc = services(request)
        await svc.case(me.token, case_id)
        items = []
        for row in await svc.materials(me.token, case_id):
            opened = await svc.material(me.token, case_id, row["item_id"])
            items.append({**row, "content": opened.get("content")})
        ctx = {"case_id": case_id, "items": items, "words": words}
        return render(request, "practitioner/materials.html", ctx)

    return r
