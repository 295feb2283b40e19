"""The participant's pages (a harmed or responsible person, a supporter, signed in with their own
account through the app's sign-in): what they agreed to, one-click withdrawal of any of it,
one-click stop of any session, their after-care. Every read and act goes to the service that
owns it with the participant's own token; the services filter what a participant sees
(`for_viewer`) and nothing is added here, so the responsible person's page shows nothing about
the harmed person beyond what the services give them.

Survivor-safe: the title is "Account" and the URLs are /me..., `Cache-Control: no-store` (the
app's headers), a quick exit on every page (static/quick-exit.js), an idle warning that extends
the visit (WCAG 2.2.1). Withdrawal and stop ask no reason; the page confirms at once, and the
sessions fragment is polled (htmx, every 2 s) until the services report the consequence."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from mend_events.contracts.actors import PSEUDO_ID_PATTERN, PseudoId
from mend_events.contracts.catalog.aftercare import UpdateLevel
from mend_events.contracts.vocabulary import ContactForm

from mend_web import participant_text as words
from mend_web.pages import (
    PARTICIPANT_ROLES,
    Viewer,
    participant_cases,
    render,
    services,
    settings,
    viewer,
)
from mend_web.participant_text import form_label, scope_label, share_terms, status_label
from mend_web.services import ServiceError

Participant = Annotated[Viewer, Depends(viewer(*PARTICIPANT_ROLES))]
CaseField = Annotated[str, Form(pattern=r"^case-[a-z0-9-]{3,60}$")]
ScopeField = Annotated[str, Form(pattern=r"^[a-z_]+(:[a-z0-9_-]+)?$", max_length=128)]
SessionField = Annotated[str, Form(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
PersonOrNone = Annotated[str, Form(pattern=f"^(|{PSEUDO_ID_PATTERN[1:-1]})$")]
People = Annotated[list[PseudoId] | None, Form()]


def _page(request: Request, template: str, ctx: dict[str, Any], status: int = 200) -> Response:
    ctx = {
        "exit_url": settings(request).quick_exit_url,
        "idle": int(settings(request).idle.total_seconds()),
        **ctx,
    }
    return render(request, f"participant/{template}", ctx, status_code=status)


async def _cases(request: Request, me: Viewer) -> list[str]:
    return await participant_cases(request).cases_of(me.agency, me.person_id)


async def _shown(read: Awaitable[Mapping[str, Any] | None]) -> Mapping[str, Any]:
    """What a service shows this participant; nothing where it shows them nothing yet (a
    responsible person may read the case only once they take part in a session: 403)."""
    try:
        return await read or {}
    except ServiceError as exc:
        if exc.status == 403:
            return {}
        raise


async def _view(request: Request, me: Viewer, case_id: str) -> dict[str, Any]:
    svc = services(request)
    consents = await _shown(svc.consents(me.token, case_id))
    case = await _shown(svc.case_or_none(me.token, case_id))
    aftercare = await _shown(svc.aftercare(me.token, case_id))
    grants = [
        {**g, "label": scope_label(g["scope"]), "shares": share_terms(g)}
        for g in consents.get("grants", [])
        if g.get("participant_id", me.person_id) == me.person_id
    ]
    sessions = [
        {**s, "label": form_label(s.get("form", "")), "status_text": status_label(s["status"])}
        for s in case.get("sessions", [])
    ]
    # The responsible person declined or was not reachable: the forms without them, offered
    # (the sessions service shows this to the harmed person only).
    answer = case.get("responsible_person_outcome") or {}
    offered = [{"code": f, "label": form_label(f)} for f in answer.get("offered_forms", [])]
    return {"case_id": case_id, "grants": grants, "sessions": sessions, "aftercare": aftercare,
            "offered": offered}  # fmt: skip


async def _choices(request: Request, me: Viewer, case_id: str) -> dict[str, Any]:
    """The harmed person's preferences as the sessions service shows them to the viewer (only
    the harmed person is shown any: the service leaves them out for everyone else), and their
    choice of progress updates as the aftercare service shows it (theirs alone likewise)."""
    svc = services(request)
    case = await _shown(svc.case_or_none(me.token, case_id))
    aftercare = await _shown(svc.aftercare(me.token, case_id))
    forms = [{"code": str(f), "label": form_label(str(f))} for f in ContactForm]
    return {
        "case_id": case_id,
        "prefs": case.get("preferences"),
        "responsible": case.get("responsible_person_id"),
        "forms": forms,
        "update_level": aftercare.get("update_level"),
        "levels": words.UPDATE_LEVELS,
    }


async def _support(request: Request, me: Viewer, case_id: str) -> dict[str, Any]:
    """Their after-care as the aftercare service shows it to them; the progress updates that
    reached them when the service shows them an update choice (the harmed person's view)."""
    svc = services(request)
    aftercare = await _shown(svc.aftercare(me.token, case_id))
    updates = None
    if "update_level" in aftercare:
        updates = (await _shown(svc.progress_updates(me.token, case_id))).get("updates", [])
    return {"case_id": case_id, "a": aftercare, "updates": updates}


async def _each_case(
    request: Request,
    me: Viewer,
    view: Callable[[Request, Viewer, str], Awaitable[dict[str, Any]]],
    template: str,
    **extra: Any,
) -> Response:
    """A page of `view` of each of the participant's cases (and the confirmation of what they
    just did, `?done=`)."""
    views = [await view(request, me, c) for c in await _cases(request, me)]
    done = request.query_params.get("done")
    return _page(request, template, {"cases": views, "done": done, **extra})


async def _own_case(request: Request, me: Viewer, case_id: str) -> None:
    if case_id not in await _cases(request, me):
        raise ServiceError(404)


async def _safety_act(act: Awaitable[None]) -> None:
    """A withdrawal (R2) or a stop (R3): never gated by the case index, which only lists cases
    for the pages and may lag behind or be rebuilding; the service that owns the act decides
    who may do it, and its refusal reads as "not found" (whether the case exists is not theirs
    to learn)."""
    try:
        await act
    except ServiceError as exc:
        if exc.status in (403, 404):
            raise ServiceError(404) from None
        raise


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/me")
    async def account(request: Request, me: Participant) -> Response:
        return await _each_case(request, me, _view, "account.html")

    @r.post("/me/withdrawal")
    async def withdraw(
        request: Request, me: Participant, case: CaseField, scope: ScopeField
    ) -> Response:
        """One click, no reason asked (R2): the consent service withdraws and the sessions
        service halts what depended on it."""
        await _safety_act(services(request).withdraw(me.token, case, me.person_id, scope))
        return RedirectResponse("/me?done=withdrawn", status_code=303)

    @r.post("/me/stop")
    async def stop(
        request: Request, me: Participant, case: CaseField, session: SessionField
    ) -> Response:
        """One click, no reason asked (R3)."""
        await _safety_act(services(request).halt(me.token, case, session))
        return RedirectResponse("/me?done=stopped", status_code=303)

    @r.get("/me/sessions")
    async def sessions_fragment(
        request: Request,
        me: Participant,
        case: Annotated[str, Query(pattern=r"^case-[a-z0-9-]{3,60}$")],
    ) -> Response:
        """The case's sessions as the sessions service reports them now (polled while one is
        planned or happening)."""
        await _own_case(request, me, case)
        return _page(request, "_status.html", {"c": await _view(request, me, case)})

    @r.get("/me/preferences")
    async def preferences(request: Request, me: Participant) -> Response:
        return await _each_case(request, me, _choices, "preferences.html")

    @r.post("/me/preferences")
    async def set_preferences(
        request: Request,
        me: Participant,
        case: CaseField,
        min_gap_days: Annotated[int, Form(ge=0, le=365)] = 0,
        permitted_forms: Annotated[list[ContactForm] | None, Form()] = None,
        speaks_first: PersonOrNone = "",
        responsible_person_takes_part: Annotated[bool, Form()] = False,
        progress_updates: Annotated[bool, Form()] = False,
        invited: People = None,
    ) -> Response:
        """The harmed person's preferences, whole (the service replaces them; `invited` comes
        back as the page had it). Anyone else: the sessions service refuses."""
        await _own_case(request, me, case)
        prefs = {
            "min_gap_days": min_gap_days,
            "permitted_forms": [str(f) for f in permitted_forms or ()],
            "speaks_first": speaks_first or None,
            "responsible_person_takes_part": responsible_person_takes_part,
            "invited": list(invited or ()),
            "progress_updates": progress_updates,
        }
        await services(request).set_preferences(me.token, case, prefs)
        return RedirectResponse("/me/preferences?done=saved", status_code=303)

    @r.post("/me/updates")
    async def set_updates(
        request: Request, me: Participant, case: CaseField, level: Annotated[UpdateLevel, Form()]
    ) -> Response:
        """Which progress updates the harmed person receives (the aftercare service decides)."""
        await _own_case(request, me, case)
        await services(request).set_update_level(me.token, case, str(level))
        return RedirectResponse("/me/preferences?done=updates", status_code=303)

    @r.get("/me/support")
    async def support(request: Request, me: Participant) -> Response:
        # Their own support plan without a case (if any), beside each case's after-care; the
        # cases' pages still show when the aftercare service is away (and say so).
        plan, away = None, False
        try:
            plan = await services(request).support_plan(me.token, me.person_id)
        except ServiceError as exc:
            if exc.status != 503:
                raise
            away = True
        # Someone who enquired without a name: theirs alone to become a registered person.
        enquiry = await services(request).own_enquiry(me.token, me.person_id)
        return await _each_case(request, me, _support, "support.html", words=words, plan=plan,
                                plan_away=away, enquiry=enquiry)  # fmt: skip

    @r.post("/me/stay")
    async def stay(me: Participant) -> Response:
        """The idle warning's "stay signed in": loading the session restarted its idle time."""
        return Response(status_code=204)

    return r
