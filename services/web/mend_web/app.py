"""The web app's composition root: settings, the services' clients, the browser sessions'
table (schema `web`), the security headers on every response, and the pages of each area
(`PARTS`: one module each, so areas do not collide). The schema is migrated beforehand, as
every service's is (`python -m mend_events.store.migrate web`; the launcher does it). The case
index (mend_web.index) is kept by its consumer for as long as the app runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from mend_events import metrics
from mend_events.app.db import tls_options
from mend_events.app.settings import Settings
from mend_events.web.edge import Timing
from starlette.exceptions import HTTPException as StarletteHTTPException

from mend_web import (
    pages,
    participant,
    participant_casework,
    participant_conferences,
    participant_letters,
    participant_outcomes,
    participant_reminders,
    participant_support,
)
from mend_web.csrf import CsrfRefused
from mend_web.i18n import gettext as _
from mend_web.index import Index
from mend_web.index.feed import index_consumer
from mend_web.participant_cases import ParticipantCases
from mend_web.routes import (
    auditor,
    casework,
    conferences,
    coordinator,
    enquiries,
    letters,
    notes,
    notices,
    outcomes,
    practitioner,
    queue,
    rule_packs,
    signin,
    volunteering,
    volunteers,
)
from mend_web.security_headers import SecurityHeaders
from mend_web.services import ServiceError, Services
from mend_web.session import Sessions
from mend_web.settings import WebSettings

SCHEMA = "web"
# Each area's pages: `router()` of each module.
PARTS = (
    signin,
    practitioner,
    coordinator,
    rule_packs,
    participant,
    auditor,
    queue,
    participant_letters,
    letters,
    participant_reminders,
    notices,
    notes,
    participant_casework,
    casework,
    enquiries,
    participant_support,
    participant_outcomes,
    outcomes,
    volunteers,
    volunteering,
    conferences,
    participant_conferences,
)
STATIC = Path(__file__).parent / "static"


def _errors(app: FastAPI) -> None:
    """Refusals as plain pages (never a service's or a client's text)."""

    def page(request: Request, status: int, title: str, text: str) -> Response:
        ctx = {"title": title, "text": text}
        block = "content" if pages.is_htmx(request) else None
        return pages.render(request, "error.html", ctx, block=block, status_code=status)

    @app.exception_handler(pages.SignInNeeded)
    async def sign_in_needed(request: Request, exc: Exception) -> Response:
        if pages.is_htmx(request):  # htmx follows a redirect inside the fragment: a full load
            return Response(status_code=401, headers={"HX-Redirect": "/signin"})
        return RedirectResponse("/signin", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: Exception) -> Response:
        return page(request, 403, _("Not allowed"), _("This form has expired. Go back, reload "
                    "the page and try again."))  # fmt: skip

    @app.exception_handler(pages.WrongRole)
    async def wrong_role(request: Request, exc: Exception) -> Response:
        return page(request, 403, _("Not allowed"), _("This page is not available to you."))

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        if exc.status in (401,):
            raise pages.SignInNeeded()
        if exc.status in (403, 404):
            return page(request, exc.status, _("Not available"),
                        _("This is not available to you, or it does not exist."))  # fmt: skip
        if exc.status in (400, 409, 422):
            return page(request, 409, _("Not done"), _("That could not be done as things stand. "
                        "Reload the page to see the current state."))  # fmt: skip
        return page(request, 503, _("Try again shortly"),
                    _("A part of Mend is not answering at the moment."))  # fmt: skip

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        field = str(first.get("loc", ["", "?"])[-1])
        return (
            JSONResponse({"field": field, "reason": "invalid"}, status_code=422)
            if (not request.headers.get("accept", "").startswith("text/html"))
            else page(
                request,
                422,
                _("Check the form"),
                _("The field '%(field)s' is not valid.") % {"field": field},
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        title = _("Not found") if exc.status_code == 404 else _("Error")
        return page(request, exc.status_code, title, _("There is nothing here."))


def build(
    settings: WebSettings | None = None,
    *,
    platform: Settings | None = None,
    schema: str = SCHEMA,
    services: Services | None = None,
    participant_cases: ParticipantCases | None = None,
    topic_prefix: str = "",
    index_feed: bool = True,
) -> FastAPI:
    """The app; `services` given by tests (the services in process), else from the
    environment. The case index is fed from the topics named with `topic_prefix` (tests) unless
    `index_feed` is off (a benchmark fills it directly); a participant's cases come from it
    unless `participant_cases` is given."""
    cfg = settings or WebSettings.from_env()
    db = platform or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(db.database_url, min_size=1, max_size=8, **tls_options())
        app.state.sessions = Sessions(pool, schema, cfg.idle)
        app.state.services = services or Services.from_env()
        app.state.index = Index(pool, schema)
        app.state.participant_cases = participant_cases or app.state.index
        # Its own pool: the consumer's transactions never wait behind page requests.
        feed_pool = await asyncpg.create_pool(
            db.database_url, min_size=1, max_size=2, **tls_options()
        )
        feed = await index_consumer(feed_pool, schema, db, topic_prefix) if index_feed else None
        if feed is not None:
            await feed.start()
        app.state.index_feed = feed
        sweeper = asyncio.create_task(_sweep(app.state.sessions))
        try:
            yield
        finally:
            sweeper.cancel()
            if feed is not None:
                await feed.stop()
            await feed_pool.close()
            if services is None:
                await app.state.services.aclose()
            await pool.close()

    app = FastAPI(title="Mend", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)  # fmt: skip
    app.state.settings = cfg
    app.add_middleware(SecurityHeaders)
    app.add_middleware(Timing, service="web")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _errors(app)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def scrape() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    for part in PARTS:
        app.include_router(part.router())
    return app


async def _sweep(store: Sessions) -> None:
    """Idle sessions removed every minute (their rows hold tokens)."""
    while True:
        await asyncio.sleep(60)
        with contextlib.suppress(Exception):
            await store.sweep(pages.now())


def create() -> FastAPI:
    return build()
