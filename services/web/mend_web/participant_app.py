"""An app of the participant pages alone, for this first slice and its browser tests: the strict
headers every response carries, the static files, the in-memory visits. When the web app's own
skeleton (`mend_web.app`) lands, it mounts `participant.router()` with the same state."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from mend_web import participant
from mend_web.participant_cases import KnownCases, ParticipantCases
from mend_web.participant_services import ParticipantServices, ServiceRefused, ServiceUrls
from mend_web.participant_session import Visits

HERE = Path(__file__).parent
DEFAULT_EXIT = "https://www.bbc.co.uk/weather"
IDLE_SECONDS = 30 * 60  # the hub's refresh tokens end after 30 minutes idle too

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",  # Back after a quick exit finds nothing cached
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


@dataclass
class ParticipantState:
    services: ParticipantServices
    visits: Visits
    cases: ParticipantCases
    templates: Environment
    exit_url: str
    idle_seconds: int
    cookie: str
    secure: bool
    default_agency: str

    def set_cookie(self, response: Response, key: str) -> None:
        response.set_cookie(
            self.cookie, key, httponly=True, secure=self.secure, samesite="strict", path="/"
        )


def templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )


def build(
    urls: ServiceUrls,
    *,
    cases: ParticipantCases | None = None,
    exit_url: str | None = None,
    idle_seconds: int = IDLE_SECONDS,
    insecure_cookies: bool = False,
    default_agency: str = "",
) -> FastAPI:
    services = ParticipantServices(urls)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await services.close()

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    env = templates()
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    app.state.participant = ParticipantState(
        services=services,
        visits=Visits(services, idle=idle_seconds),
        cases=cases or KnownCases(),
        templates=env,
        exit_url=exit_url or os.environ.get("MEND_WEB_QUICK_EXIT_URL", DEFAULT_EXIT),
        idle_seconds=idle_seconds,
        cookie="mend_account" if insecure_cookies else "__Host-mend_account",
        secure=not insecure_cookies,
        default_agency=default_agency,
    )
    app.include_router(participant.router())
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.update(HEADERS)
        return response

    @app.exception_handler(participant.NotSignedIn)
    async def not_signed_in(request: Request, exc: Exception) -> Response:
        if request.headers.get("HX-Request"):
            # A fragment's poll after the visit ended: the whole page goes to sign-in.
            return Response(status_code=204, headers={"HX-Redirect": "/account/signin"})
        return RedirectResponse("/account/signin", status_code=303)

    @app.exception_handler(participant.BadToken)
    async def bad_token(request: Request, exc: Exception) -> Response:
        return HTMLResponse("<!doctype html><title>Account</title>Please try again.", 403)

    @app.exception_handler(ServiceRefused)
    async def refused(request: Request, exc: ServiceRefused) -> Response:
        status = exc.status if 400 <= exc.status < 500 else 503
        return _problem(app.state.participant, request, exc.reason, status)

    return app


def _problem(state: ParticipantState, request: Request, reason: str, status: int) -> Response:
    body = state.templates.get_template("participant/problem.html").render(
        request=request, visit=None, exit_url=state.exit_url, idle=state.idle_seconds,
        reason=reason,
    )  # fmt: skip
    return HTMLResponse(body, status_code=status)
