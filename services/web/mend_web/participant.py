"""The participant's pages (a harmed or responsible person, signed in with their own account):
what they have agreed to, one-click withdrawal of any of it, one-click stop of any session,
their after-care. Every read and act goes to the service that owns it with the participant's own
token; the services filter what a participant sees (`for_viewer`), and nothing is added here.

Survivor-safe: neutral title ("Account") and URLs, `Cache-Control: no-store` (the app's
headers), a quick exit on every page (static/quick-exit.js), an idle warning that extends the
visit. Withdrawal and halt ask no reason; the page says what was done at once, and the status
fragment is polled (htmx, every 2 s) until the services report the consequence."""

from __future__ import annotations

from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from mend_events.contracts.actors import PARTICIPANT_ROLES
from mend_web.participant_services import ServiceRefused
from mend_web.participant_session import Visit
from mend_web.participant_text import form_label, scope_label, status_label

COOKIE = "mend_account"
ACTIVE = frozenset({"scheduled", "running"})


class NotSignedIn(Exception):
    """No participant visit: the sign-in page."""


class BadToken(Exception):
    """A form without the visit's CSRF token: 403, nothing done."""


def _state(request: Request) -> Any:
    return request.app.state.participant


def _visit(request: Request) -> Visit:
    visit = _state(request).visits.find(request.cookies.get(_state(request).cookie))
    if visit is None or not visit.signed_in:
        raise NotSignedIn
    return visit


Signed = Annotated[Visit, Depends(_visit)]


def _checked(request: Request, visit: Visit, csrf: str | None) -> None:
    if not _state(request).visits.csrf_ok(visit, csrf):
        raise BadToken


def page(request: Request, name: str, visit: Visit | None, **context: Any) -> HTMLResponse:
    st = _state(request)
    body = st.templates.get_template(f"participant/{name}").render(
        request=request, visit=visit, exit_url=st.exit_url, idle=st.idle_seconds, **context
    )
    return HTMLResponse(body)


async def _case_view(request: Request, visit: Visit, case_id: str) -> dict[str, Any]:
    st = _state(request)
    token = await st.visits.token(visit)
    consents = await st.services.consents(token, case_id) or {"grants": []}
    case = await st.services.case(token, case_id) or {"sessions": []}
    aftercare = await st.services.aftercare(token, case_id)
    grants = [
        {**g, "label": scope_label(g["scope"])}
        for g in consents.get("grants", [])
        if g.get("participant_id") in (None, visit.person_id)
    ]
    sessions = [
        {**s, "label": form_label(s.get("form", "")), "status_text": status_label(s["status"])}
        for s in case.get("sessions", [])
    ]
    return {"case_id": case_id, "grants": grants, "sessions": sessions, "aftercare": aftercare}


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/account/signin")
    async def sign_in_page(request: Request) -> Response:
        st = _state(request)
        visit = st.visits.find(request.cookies.get(st.cookie))
        key = None
        if visit is None:
            key, visit = st.visits.start()
        response = page(request, "signin.html", None, csrf=visit.csrf, agency=st.default_agency)
        if key is not None:
            st.set_cookie(response, key)
        return response

    @r.post("/account/signin")
    async def sign_in(
        request: Request,
        agency: Annotated[str, Form(max_length=64)],
        username: Annotated[str, Form(max_length=128)],
        password: Annotated[str, Form(max_length=1024)],
        csrf: Annotated[str | None, Form()] = None,
    ) -> Response:
        st = _state(request)
        visit = st.visits.find(request.cookies.get(st.cookie))
        if visit is None or not st.visits.csrf_ok(visit, csrf):
            raise BadToken
        error = None
        try:
            answer = await st.services.sign_in(agency, username, password)
        except ServiceRefused as refused:
            error = refused.status
            answer = {}
        if error is None and answer.get("status") == "signed_in":
            claims = jwt.decode(answer["access_token"], options={"verify_signature": False})
            if claims.get("role") in {str(x) for x in PARTICIPANT_ROLES}:
                st.visits.signed_in(visit, answer, claims)
                return RedirectResponse("/account", status_code=303)
        message = (
            "Too many tries. Please wait a while and try again."
            if error in (423, 429)
            else "We could not sign you in with those details."
        )
        response = page(request, "signin.html", None, csrf=visit.csrf, agency=agency, error=message)
        response.status_code = 401 if error in (None, 401) else error
        return response

    @r.get("/account")
    async def account(request: Request, visit: Signed) -> Response:
        st = _state(request)
        cases = await st.cases.cases_of(visit.agency or "", visit.person_id or "")
        views = [await _case_view(request, visit, c) for c in cases]
        flash, visit.flash = visit.flash, []
        return page(request, "account.html", visit, csrf=visit.csrf, cases=views, flash=flash)

    @r.post("/account/withdraw")
    async def withdraw(
        request: Request,
        visit: Signed,
        case: Annotated[str, Form(max_length=64)],
        scope: Annotated[str, Form(max_length=128)],
        csrf: Annotated[str | None, Form()] = None,
    ) -> Response:
        _checked(request, visit, csrf)
        st = _state(request)
        await st.services.withdraw(await st.visits.token(visit), case, visit.person_id, scope)
        visit.flash.append(f"You have withdrawn: {scope_label(scope)}.")
        return RedirectResponse(f"/account?watch={case}", status_code=303)

    @r.post("/account/stop")
    async def stop(
        request: Request,
        visit: Signed,
        case: Annotated[str, Form(max_length=64)],
        session: Annotated[str, Form(max_length=64)],
        csrf: Annotated[str | None, Form()] = None,
    ) -> Response:
        _checked(request, visit, csrf)
        st = _state(request)
        await st.services.halt(await st.visits.token(visit), case, session)
        visit.flash.append("You have stopped the session.")
        return RedirectResponse(f"/account?watch={case}", status_code=303)

    @r.get("/account/status")
    async def status(
        request: Request, visit: Signed, case: Annotated[str, Query(max_length=64)]
    ) -> Response:
        """The sessions as the sessions service reports them now; polled while one is active."""
        st = _state(request)
        if case not in await st.cases.cases_of(visit.agency or "", visit.person_id or ""):
            return Response(status_code=404)
        view = await _case_view(request, visit, case)
        return page(request, "_status.html", visit, c=view)

    @r.post("/account/stay")
    async def stay(
        request: Request, visit: Signed, csrf: Annotated[str | None, Form()] = None
    ) -> Response:
        """The idle warning's "stay signed in": finding the visit has extended it."""
        _checked(request, visit, csrf)
        return Response(status_code=204)

    @r.post("/account/leave")
    async def leave(request: Request, csrf: Annotated[str | None, Form()] = None) -> Response:
        """Sign out (also sent by the quick exit as a beacon, so Back finds nothing)."""
        st = _state(request)
        key = request.cookies.get(st.cookie)
        visit = st.visits.find(key)
        if visit is not None and st.visits.csrf_ok(visit, csrf):
            st.visits.end(key)
            if visit.refresh_token:
                try:
                    await st.services.sign_out(visit.refresh_token)
                except ServiceRefused:
                    pass  # the visit is over here whatever the hub said
        response = RedirectResponse("/account/signin", status_code=303)
        response.delete_cookie(st.cookie, path="/")
        return response

    return r
