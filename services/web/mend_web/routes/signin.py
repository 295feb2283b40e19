"""Sign-in (password, then the second factor, both checked by the hub), sign-out, and the
landing by role. Every failure reads the same ("Sign-in failed"); a locked account (423) and
too many attempts (429) are explained in plain words, as the hub answers them."""

from __future__ import annotations

from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from mend_web import csrf
from mend_web.i18n import gettext as _
from mend_web.pages import (
    Viewer,
    client_address,
    current,
    home_of,
    now,
    render,
    services,
    sessions,
    settings,
    viewer,
)
from mend_web.services import ServiceError
from mend_web.session import WebSession

FAILED = _("Sign-in failed. Check your details and try again.")
LOCKED = _(
    "This account is locked after too many failed attempts. Try again in 15 minutes, "
    "or ask your coordinator to unlock it."
)
TOO_MANY = _("There have been too many sign-in attempts. Wait a minute, then try again.")
UNAVAILABLE = _("Sign-in is not available at the moment. Try again shortly.")
ENROL = _(
    "Your account has no second factor yet. Ask your coordinator to help you set one up "
    "before you sign in here."
)
ALL_ROLES = (
    "practitioner", "coordinator", "auditor", "operator",
    "harmed_person", "responsible_person", "supporter", "institution_rep",
    "volunteer",  # a community volunteer (issue 21): signs in like staff
)  # fmt: skip

Field = Annotated[str, Form(max_length=512)]


def set_cookie(request: Request, response: Response, raw: str) -> None:
    s = settings(request)
    response.set_cookie(
        s.cookie_name,
        raw,
        httponly=True,
        secure=not s.insecure_cookies,
        samesite="strict",
        path="/",
    )


def _message(exc: ServiceError) -> str:
    if exc.status == 423:
        return LOCKED
    if exc.status == 429:
        return TOO_MANY
    if exc.status >= 500:
        return UNAVAILABLE
    return FAILED


async def _visitor(request: Request) -> tuple[WebSession, str | None]:
    """The browser's session, or a new visitor's one (its raw id, for the cookie)."""
    s = await current(request)
    if s is not None:
        return s, None
    raw, s = await sessions(request).start(now())
    request.state.web_session = s
    return s, raw


async def _checked(request: Request) -> WebSession:
    s = await current(request)
    await csrf.check(request, s)
    assert s is not None
    return s


Checked = Annotated[WebSession, Depends(_checked)]
Anyone = Annotated[Viewer, Depends(viewer(*ALL_ROLES))]


async def _signed_in(request: Request, s: WebSession, tokens: dict) -> Response:
    # The claims only choose where to go; the services verify the token on every call.
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    raw = await sessions(request).signed_in(s, claims, tokens, now())
    response = RedirectResponse(home_of(claims["role"]), status_code=303)
    set_cookie(request, response, raw)
    return response


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/")
    async def root(request: Request) -> Response:
        s = await current(request)
        target = home_of(s.role or "") if s is not None and s.signed_in else "/signin"
        return RedirectResponse(target, status_code=303)

    @r.get("/signin")
    async def signin_page(request: Request) -> Response:
        s, raw = await _visitor(request)
        if s.signed_in:
            return RedirectResponse(home_of(s.role or ""), status_code=303)
        ctx = {"agency": settings(request).default_agency}
        response = render(request, "signin/password.html", ctx)
        if raw is not None:
            set_cookie(request, response, raw)
        return response

    @r.post("/signin")
    async def signin(
        request: Request, s: Checked, agency: Field, username: Field, password: Field
    ) -> Response:
        try:
            answer = await services(request).sign_in(
                agency.strip(), username, password, client_address(request)
            )
        except ServiceError as exc:
            ctx = {"agency": agency, "error": _message(exc)}
            status = exc.status if exc.status in (423, 429) else 400
            return render(request, "signin/password.html", ctx, status_code=status)
        if answer["status"] == "signed_in":
            return await _signed_in(request, s, answer)
        if answer["status"] == "enrol_second_factor":
            ctx = {"agency": agency, "error": ENROL}
            return render(request, "signin/password.html", ctx, status_code=400)
        await sessions(request).challenged(s, agency.strip(), answer["challenge"])
        return RedirectResponse("/signin/second-factor", status_code=303)

    @r.get("/signin/second-factor")
    async def second_factor_page(request: Request) -> Response:
        s = await current(request)
        if s is None or s.challenge is None:
            return RedirectResponse("/signin", status_code=303)
        return render(request, "signin/second_factor.html")

    @r.post("/signin/second-factor")
    async def second_factor(request: Request, s: Checked, code: Field) -> Response:
        if s.challenge is None:
            return RedirectResponse("/signin", status_code=303)
        digits = "".join(ch for ch in code if ch.isdigit())
        try:
            tokens = await services(request).second_factor(
                s.challenge, digits, client_address(request)
            )
        except ServiceError as exc:
            ctx = {"error": _message(exc)}
            status = exc.status if exc.status in (423, 429) else 400
            return render(request, "signin/second_factor.html", ctx, status_code=status)
        return await _signed_in(request, s, tokens)

    @r.post("/signout")
    async def signout(request: Request, me: Anyone) -> Response:
        try:
            await services(request).sign_out(me.session.refresh_token or "")
        except ServiceError:
            pass  # the web session ends whatever the hub says; its refresh token idles out
        await sessions(request).end(me.session)
        response = RedirectResponse("/signin", status_code=303)
        cfg = settings(request)
        response.delete_cookie(
            cfg.cookie_name,
            path="/",
            secure=not cfg.insecure_cookies,
            httponly=True,
            samesite="strict",
        )
        return response

    @r.get("/home")
    async def home(request: Request, me: Anyone) -> Response:
        return render(request, "home.html", {"viewer": me})

    return r
