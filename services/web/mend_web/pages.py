"""What every page and fragment shares: the templates (Jinja2 with jinja2-fragments, so an htmx
request gets one block of the same template), the browser session, and the authorization rule
of each page: who is signed in, in which role, and (for unsafe methods) the CSRF token. The
services decide what data anyone may see; these rules only choose which pages a role is shown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from jinja2 import Environment, FileSystemLoader
from jinja2_fragments.fastapi import Jinja2Blocks

from mend_web import csrf, i18n
from mend_web.participant_cases import ParticipantCases
from mend_web.services import ServiceError, Services
from mend_web.session import Sessions, WebSession
from mend_web.settings import WebSettings

# Every word of the interface through the catalogue (`_()` and `{% trans %}` in templates).
_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
)
_ENV.install_gettext_translations(i18n.translations(), newstyle=True)  # type: ignore[attr-defined]
_ENV.policies["ext.i18n.trimmed"] = True
TEMPLATES = Jinja2Blocks(env=_ENV)
# Refresh the access token (5 minutes) this long before it runs out.
_EARLY = timedelta(seconds=30)
PARTICIPANT_ROLES = ("harmed_person", "responsible_person", "supporter", "institution_rep")


class SignInNeeded(Exception):
    """No signed-in session (or it ended): to the sign-in page."""


class WrongRole(Exception):
    """Signed in, but this page is not for the person's role: 403."""


def now() -> datetime:
    return datetime.now(UTC)


def settings(request: Request) -> WebSettings:
    return request.app.state.settings


def services(request: Request) -> Services:
    return request.app.state.services


def participant_cases(request: Request) -> ParticipantCases:
    return request.app.state.participant_cases


def sessions(request: Request) -> Sessions:
    return request.app.state.sessions


async def current(request: Request) -> WebSession | None:
    """The browser's session (cached on the request)."""
    if not hasattr(request.state, "web_session"):
        raw = request.cookies.get(settings(request).cookie_name)
        request.state.web_session = await sessions(request).load(raw, now())
    return request.state.web_session


@dataclass(frozen=True)
class Viewer:
    """The signed-in person, as their token says (the services verify it; this only chooses
    pages), with a fresh access token to act with."""

    session: WebSession
    token: str

    @property
    def role(self) -> str:
        return self.session.role or ""

    @property
    def person_id(self) -> str:
        return self.session.person_id or ""

    @property
    def agency(self) -> str:
        return self.session.agency or ""


async def _fresh(request: Request, s: WebSession) -> WebSession:
    if s.access_token and s.access_expires and s.access_expires - _EARLY > now():
        return s
    try:
        tokens = await services(request).refresh(s.refresh_token or "", client_address(request))
    except ServiceError as exc:
        if exc.status in (401, 403):  # expired, revoked, deactivated: signed out
            await sessions(request).end(s)
            raise SignInNeeded() from None
        raise
    return await sessions(request).refreshed(s, tokens, now())


def viewer(*roles: str) -> Callable[[Request], Awaitable[Viewer]]:
    """The dependency of a page for `roles`; for unsafe methods it checks the CSRF token
    first (before any service is asked anything)."""

    async def dependency(request: Request) -> Viewer:
        s = await current(request)
        if request.method in csrf.UNSAFE:
            await csrf.check(request, s)
        if s is None or not s.signed_in:
            raise SignInNeeded()
        if s.role not in roles:
            raise WrongRole()
        s = await _fresh(request, s)
        request.state.web_session = s
        return Viewer(s, s.access_token or "")

    dependency.roles = roles  # type: ignore[attr-defined]  # read by the routes' rule test
    return dependency


def client_address(request: Request) -> str | None:
    """The browser's address as this server sees it (behind a proxy: as uvicorn's
    --forwarded-allow-ips lets it read it)."""
    return request.client.host if request.client else None


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
) -> Response:
    s: WebSession | None = getattr(request.state, "web_session", None)
    ctx = {"csrf": s.csrf if s else "", "me": s if s and s.signed_in else None, **(context or {})}
    if block is not None:
        return TEMPLATES.TemplateResponse(
            request, template, ctx, block_name=block, status_code=status_code
        )
    return TEMPLATES.TemplateResponse(request, template, ctx, status_code=status_code)


def home_of(role: str) -> str:
    """Where a role lands after sign-in."""
    if role == "practitioner":
        return "/cases"
    if role == "coordinator":
        return "/staff"
    if role in PARTICIPANT_ROLES:
        return "/me"
    if role == "auditor":
        return "/audit"
    if role == "volunteer":
        return "/volunteering"
    return "/home"
