"""The staff's enquiries page (/enquiries, the agency's practitioners and coordinators): record
an enquiry (anonymous: the hub makes a reference; a way back only if the person wants one,
sealed by the hub), list the agency's enquiries with their outcomes, record an outcome, hand the
enquirer an activation code for an account of their own, and offer support without a case (a
practitioner: the aftercare service's support plan, with a first check-in). The services decide
every step; nothing is kept here."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal
from uuid import uuid4

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from mend_events.contracts.actors import PSEUDO_ID_PATTERN
from mend_events.contracts.catalog.hub import (
    ContactChannel,
    EnquiryOutcome,
    EnquiryRoute,
    EnquiryTopic,
)

from mend_web.i18n import gettext as _
from mend_web.pages import Viewer, render, services, viewer
from mend_web.services import ServiceError

Staff = Annotated[Viewer, Depends(viewer("practitioner", "coordinator"))]
Practitioner = Annotated[Viewer, Depends(viewer("practitioner"))]
Ref = Annotated[str, Path(pattern=PSEUDO_ID_PATTERN)]
PersonField = Annotated[str, Form(pattern=PSEUDO_ID_PATTERN)]
# Signposting's kinds (circles of support and accountability are a case's responsible person's).
SignpostKind = Literal["counselling", "advocacy", "therapeutic_treatment", "other"]
Day = Annotated[str, Form(pattern=r"^(|\d{4}-\d{2}-\d{2})$")]
AgencyOrNone = Annotated[str, Form(pattern=r"^(|[a-z][a-z0-9-]{1,63})$")]
# The way back as typed; the hub checks and seals it, and it is never logged here.
Address = Annotated[str, Form(max_length=500)]


def _label(code: str | None) -> str:
    words = {
        "rj_information": _("Restorative justice"),
        "support_services": _("Support services"),
        "reporting_options": _("Reporting options"),
        "safety": _("Safety"),
        "someone_else": _("For someone else"),
        "other": _("Something else"),
        "information_given": _("Information given"),
        "signposted": _("Signposted"),
        "became_referral": _("Became a referral"),
        "closed_no_contact": _("Closed, no contact"),
        "self": _("Self"),
        "agency": _("Through an agency"),
    }
    return words.get(code or "", _("Not yet recorded"))


def _signpost(kind: str) -> str:
    return {
        "counselling": _("Counselling"),
        "advocacy": _("Advocacy"),
        "therapeutic_treatment": _("Therapeutic treatment"),
    }.get(kind, _("Other support"))


def _nav(me: Viewer) -> str:
    return "practitioner/nav.html" if me.role == "practitioner" else "coordinator/nav.html"


def _rows(enquiries: list[dict[str, Any]], plans: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            **e,
            "route_text": _label(e["route"]),
            "topics_text": ", ".join(_label(t) for t in e["topics"]),
            "outcome_text": _label(e["outcome"]),
            "support": plans.get(e["enquiry_ref"]),
        }
        for e in enquiries
    ]


async def _offer(request: Request, me: Viewer, subject_id: str, subject: str, day: str) -> None:
    """The plan, and a first check-in (noon UTC on the day chosen) when a day is given."""
    svc = services(request)
    await svc.open_support(me.token, subject_id, subject)
    if day:
        due = datetime.combine(datetime.fromisoformat(day).date(), time(12), tzinfo=UTC)
        body = {"check_in_id": str(uuid4()), "due_at": due.isoformat()}
        await svc.support_check_in(me.token, subject_id, body)


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/enquiries")
    async def enquiries(request: Request, me: Staff) -> Response:
        svc = services(request)
        every = await svc.support_plans(me.token)
        plans = {p["subject_id"]: p["status"] for p in every}
        ctx = {
            "plans": every,
            "enquiries": _rows(await svc.enquiries(me.token), plans),
            "routes": list(EnquiryRoute),
            "topics": [(t, _label(t)) for t in EnquiryTopic],
            "outcomes": [(o, _label(o)) for o in EnquiryOutcome],
            "channels": [ContactChannel.EMAIL, ContactChannel.PHONE, ContactChannel.TEXT_MESSAGE],
            "practitioner": me.role == "practitioner",
            "signposts": [
                (k, _signpost(k))
                for k in ("counselling", "advocacy", "therapeutic_treatment", "other")
            ],
            "nav": _nav(me),
            "done": request.query_params.get("done"),
        }
        return render(request, "practitioner/enquiries.html", ctx)

    @r.post("/enquiries")
    async def record(
        request: Request,
        me: Staff,
        route: Annotated[EnquiryRoute, Form()],
        topics: Annotated[list[EnquiryTopic], Form()],
        referring_agency: AgencyOrNone = "",
        contact_person_id: Annotated[str, Form(pattern=f"^(|{PSEUDO_ID_PATTERN[1:-1]})$")] = "",
        channel: Annotated[ContactChannel | None, Form()] = None,
        address: Address = "",
    ) -> Response:
        body: dict[str, Any] = {"route": str(route), "topics": [str(t) for t in topics]}
        if referring_agency:
            body["referring_agency"] = referring_agency
        if contact_person_id:
            body["contact_person_id"] = contact_person_id
        if address.strip():
            if channel is None:
                raise ServiceError(422)
            body["contact"] = {"channel": str(channel), "address": address.strip()}
        await services(request).record_enquiry(me.token, body)
        return RedirectResponse("/enquiries?done=recorded", status_code=303)

    @r.post("/enquiries/{ref}/outcome")
    async def outcome(
        request: Request, me: Staff, ref: Ref, outcome: Annotated[EnquiryOutcome, Form()]
    ) -> Response:
        await services(request).enquiry_outcome(me.token, ref, str(outcome))
        return RedirectResponse("/enquiries?done=outcome", status_code=303)

    @r.post("/enquiries/{ref}/account")
    async def account(request: Request, me: Staff, ref: Ref) -> Response:
        """The code is shown this once, to hand to the enquirer; it is not kept here."""
        code = await services(request).enquiry_account(me.token, ref)
        ctx = {"code": code, "ref": ref, "nav": _nav(me)}
        return render(request, "practitioner/enquiry_code.html", ctx)

    @r.post("/enquiries/{ref}/support")
    async def support(request: Request, me: Practitioner, ref: Ref, first_check_in: Day = ""):
        """Support without a case, at the enquirer's request."""
        await _offer(request, me, ref, "enquiry", first_check_in)
        return RedirectResponse("/enquiries?done=support", status_code=303)

    @r.post("/support")
    async def support_person(
        request: Request, me: Practitioner, person_id: PersonField, first_check_in: Day = ""
    ) -> Response:
        """Support without a case for a registered person who asks for it."""
        await _offer(request, me, person_id, "person", first_check_in)
        return RedirectResponse("/enquiries?done=support", status_code=303)

    @r.post("/support/{subject}/referrals")
    async def signpost(
        request: Request, me: Practitioner, subject: Ref, kind: Annotated[SignpostKind, Form()]
    ) -> Response:
        """Signposting: a referral to another service, followed up by the practitioner within
        two weeks."""
        due = (datetime.now(UTC) + timedelta(days=14)).date().isoformat()
        body = {"referral_id": str(uuid4()), "kind": str(kind), "owner_id": me.person_id,
                "due_on": due}  # fmt: skip
        await services(request).support_referral(me.token, subject, body)
        return RedirectResponse("/enquiries?done=signposted", status_code=303)

    @r.post("/support/{subject}/stop")
    async def stop(request: Request, me: Practitioner, subject: Ref) -> Response:
        """The person told the practitioner to stop (no account, on the phone): at once."""
        await services(request).stop_support(me.token, subject)
        return RedirectResponse("/enquiries?done=stopped", status_code=303)

    return r
