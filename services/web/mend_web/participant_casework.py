"""The participant's meetings (/me/meetings) and the harmed person's own materials
(/me/materials). Meetings: each with its time shown in the zone the participant picks (by
default the zone it was arranged in), its channel, place and the safety plan's arrangements; she
or he says whether they can attend or calls it off (no reason asked); the harmed person may
arrange her own preparation meeting. Materials: her questions, her impact statement, what she
wants heard; she writes and revises them, shows one to her facilitator, takes it back, or offers
it to the responsible person as a letter her facilitator reads first. The sessions service
decides every step, and records every opening of an item."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from mend_web import participant_text as words
from mend_web.pages import Viewer, services
from mend_web.participant import CaseField, Participant, SessionField, _own_case, _page, _shown
from mend_web.participant_text import form_label

IdField = Annotated[str, Form(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
Text = Annotated[str, Form(min_length=1, max_length=20_000)]
Zone = Annotated[str, Form(pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}$", max_length=64)]
ItemVerb = Annotated[str, Path(pattern=r"^(share|unshare)$")]
MeetingVerb = Annotated[str, Path(pattern=r"^(yes|no|cancel)$")]


def zone_or_none(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ValueError, OSError):  # not a zone this machine knows: the meeting's own
        return None


def shown_at(moment: str, zone: ZoneInfo) -> dict[str, str]:
    """A meeting's instant in `zone`: the day and time a person reads, and the zone's name."""
    local = datetime.fromisoformat(moment).astimezone(zone)
    return {"day": local.strftime("%A %d %B %Y"), "time": local.strftime("%H:%M"),
            "zone": str(zone), "iso": local.isoformat()}  # fmt: skip


async def _meetings(request: Request, me: Viewer, case_id: str, tz: str | None) -> dict[str, Any]:
    svc = services(request)
    doc = await _shown(svc.meetings(me.token, case_id))
    case = await _shown(svc.case_or_none(me.token, case_id))
    chosen = zone_or_none(tz)
    meetings = [
        {**m, "when": shown_at(m["at"], chosen or ZoneInfo(m["timezone"])),
         "mine": me.person_id in [p["id"] for p in m["attendees"]]}
        for m in doc.get("meetings", [])
    ]  # fmt: skip
    # The harmed person arranges her own preparation (the service refuses anyone else).
    may_arrange = case.get("harmed_person_id") == me.person_id
    return {"case_id": case_id, "meetings": meetings, "may_arrange": may_arrange}


async def _materials(request: Request, me: Viewer, case_id: str) -> dict[str, Any]:
    svc = services(request)
    case = await _shown(svc.case_or_none(me.token, case_id))
    if case.get("harmed_person_id") != me.person_id:
        return {"case_id": case_id, "items": None, "sessions": []}
    items = []
    for row in await svc.materials(me.token, case_id):
        opened = await svc.material(me.token, case_id, row["item_id"])
        items.append({**row, "content": opened.get("content"),
                      "letter_text": words.letter_status(row["letter_status"])
                      if row["letter_status"] else None})  # fmt: skip
    sessions = [
        {**s, "label": form_label(s["form"])}
        for s in case.get("sessions", [])
        if s.get("form") in ("letter", "indirect") and s.get("status") in ("scheduled", "running")
    ]
    return {"case_id": case_id, "items": items, "sessions": sessions}


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/me/meetings")
    async def meetings(
        request: Request, me: Participant,
        tz: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Response:  # fmt: skip
        cases = await request.app.state.participant_cases.cases_of(me.agency, me.person_id)
        views = [await _meetings(request, me, c, tz) for c in cases]
        zones = sorted({*words.ZONES, *(m["timezone"] for v in views for m in v["meetings"])})
        ctx = {"cases": views, "done": request.query_params.get("done"), "words": words,
               "zones": zones, "tz": tz if zone_or_none(tz) else None,
               "me_id": me.person_id}  # fmt: skip
        return _page(request, "meetings.html", ctx)

    @r.post("/me/meetings")
    async def arrange(
        request: Request, me: Participant, case: CaseField,
        day: Annotated[str, Form(pattern=r"^\d{4}-\d{2}-\d{2}$")],
        time: Annotated[str, Form(pattern=r"^\d{2}:\d{2}$")], timezone: Zone,
        channel: Annotated[str, Form(pattern=r"^(in_person|video|phone)$")],
        place: Annotated[str, Form(max_length=2_000)] = "",
    ) -> Response:  # fmt: skip
        """Her own preparation meeting, at a time in the zone she names."""
        await _own_case(request, me, case)
        zone = zone_or_none(timezone)
        if zone is None:
            return RedirectResponse("/me/meetings?done=zone", status_code=303)
        at = datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=zone)
        body = {"meeting_id": f"meet-{uuid4().hex[:12]}", "purpose": "preparation",
                "with_id": me.person_id, "at": at.isoformat(), "timezone": timezone,
                "channel": channel, "place": place.strip() or None}  # fmt: skip
        await services(request).meeting_command(me.token, case, None, "", body)
        return RedirectResponse("/me/meetings?done=arranged", status_code=303)

    @r.post("/me/meetings/{verb}")
    async def answer(
        request: Request, me: Participant, verb: MeetingVerb, case: CaseField, meeting: IdField
    ) -> Response:
        """Whether they can attend, or calling it off: no reason asked."""
        await _own_case(request, me, case)
        svc = services(request)
        if verb == "cancel":
            await svc.meeting_command(me.token, case, meeting, "cancel")
        else:
            body = {"available": verb == "yes"}
            await svc.meeting_command(me.token, case, meeting, "availability", body)
        return RedirectResponse(f"/me/meetings?done={verb}", status_code=303)

    @r.get("/me/materials")
    async def materials(request: Request, me: Participant) -> Response:
        cases = await request.app.state.participant_cases.cases_of(me.agency, me.person_id)
        views = [await _materials(request, me, c) for c in cases]
        ctx = {"cases": views, "done": request.query_params.get("done"), "words": words}
        return _page(request, "materials.html", ctx)

    @r.post("/me/materials")
    async def write(
        request: Request, me: Participant, case: CaseField,
        kind: Annotated[str, Form(pattern=r"^(question|impact_statement|to_hear)$")],
        content: Text,
    ) -> Response:  # fmt: skip
        await _own_case(request, me, case)
        body = {"item_id": f"item-{uuid4().hex[:12]}", "kind": kind, "content": content}
        await services(request).material_command(me.token, case, None, "", body)
        return RedirectResponse("/me/materials?done=written", status_code=303)

    @r.post("/me/materials/revision")
    async def revise(
        request: Request, me: Participant, case: CaseField, item: IdField, content: Text
    ) -> Response:
        await _own_case(request, me, case)
        await services(request).material_command(me.token, case, item, "revise",
                                                 {"content": content})  # fmt: skip
        return RedirectResponse("/me/materials?done=written", status_code=303)

    @r.post("/me/materials/offer")
    async def offer(
        request: Request, me: Participant, case: CaseField, item: IdField, session: SessionField
    ) -> Response:
        """As a letter of her letter exchange: her facilitator reads it first."""
        await _own_case(request, me, case)
        body = {"session_id": session, "letter_id": f"letter-{uuid4().hex[:16]}"}
        await services(request).material_command(me.token, case, item, "offer", body)
        return RedirectResponse("/me/materials?done=offered", status_code=303)

    @r.post("/me/materials/{verb}")
    async def share(
        request: Request, me: Participant, verb: ItemVerb, case: CaseField, item: IdField
    ) -> Response:
        await _own_case(request, me, case)
        await services(request).material_command(me.token, case, item, verb)
        return RedirectResponse(f"/me/materials?done={verb}", status_code=303)

    return r
