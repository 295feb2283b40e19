"""The auditor's read-only HTTP API: the same answers as `mend audit`, behind the auditor role.

    GET /audit/cases/{case_id}/history?as_of=     timeline, halts, state as of a moment
    GET /audit/halts?case=&since=&as_of=          every halt and withdrawal of the agency's cases
    GET /audit/verify?service=&kafka=             hash chains, and Kafka against the stores
    GET /audit/cases/{case_id}/export?format=     the case file, json or csv
    GET /audit/reports/commissioner?as_of=&format= the agency's figures, small cells hidden

Only auditors, and only for cases opened under their own agency; the report also to its
coordinators (deny by default, `access.py`). Nothing here writes. Mount `router()` in any app
whose `app.state.audit` is an `AuditReader`, or run `build()` on its own
(`uvicorn --factory mend_audit.api:create`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from mend_events.app.db import create_pool
from mend_events.app.settings import SERVICES, Settings
from mend_events.security.identity import Identity
from mend_events.security.trust import TrustView
from mend_events.web.commands import Caller, CaseId
from mend_events.web.http import create_app
from mend_events.web.inputs import CaseIdValue
from mend_events.web.inputs import Moment as ClientMoment

from mend_audit import access
from mend_audit.export import MEDIA_TYPES
from mend_audit.history import to_json
from mend_audit.reader import AuditReader
from mend_audit.replay import Schemas, default_schemas
from mend_audit.reports import output as report_output
from mend_audit.settings import AuditSettings

Moment = Annotated[ClientMoment | None, Query(description="ISO 8601, with its timezone")]
OTHER_AGENCY = "(a case of another agency)"


def _reader(request: Request) -> AuditReader:
    return request.app.state.audit


Reader = Annotated[AuditReader, Depends(_reader)]


def _json(value: Any) -> Response:
    # Canonical bytes (sorted keys): the same history is the same response, byte for byte.
    return Response(to_json(value, indent=False), media_type="application/json")


async def _case_access(reader: AuditReader, identity: Identity, case_id: str) -> None:
    # The role first (cheap), then the case's agency (one replay of the case).
    access.authorize(identity, access.HISTORY, agency=identity.agency, case_id=case_id)
    agency = await reader.case_agency(case_id)
    access.authorize(identity, access.HISTORY, agency=agency, case_id=case_id)


def router() -> APIRouter:
    api = APIRouter(prefix="/audit", tags=["audit"])

    @api.get(
        "/cases/{case_id}/history",
        summary="A case's timeline with causes, halts and withdrawals, and state as of a moment",
    )
    async def history(reader: Reader, case_id: CaseId, identity: Caller, as_of: Moment = None):
        await _case_access(reader, identity, case_id)
        return _json(await reader.history(case_id, as_of))

    @api.get(
        "/halts",
        summary="Every halt and withdrawal of the agency's cases, with cause and consequences",
    )
    async def halts(
        reader: Reader,
        identity: Caller,
        case: Annotated[CaseIdValue | None, Query()] = None,
        since: Moment = None,
        as_of: Moment = None,
    ):
        access.authorize(identity, access.HALTS, agency=identity.agency)
        if case is not None:
            await _case_access(reader, identity, case)
        found = await reader.halts(case=case, since=since, as_of=as_of, agencies=[identity.agency])
        return _json({"halts": found})

    @api.get(
        "/verify",
        summary="Verify every hash chain, and that Kafka holds exactly what the stores hold",
    )
    async def verify(
        reader: Reader,
        identity: Caller,
        service: Annotated[list[Literal[SERVICES]] | None, Query()] = None,  # type: ignore[valid-type]
        kafka: bool = True,
    ):
        access.authorize(identity, access.VERIFY, agency=identity.agency)
        report = (await reader.verify(services=service, kafka=kafka)).to_dict()
        # Integrity is the platform's; the cases named in a problem are the agency's business.
        agencies: dict[str, str | None] = {}
        for svc in report["services"]:
            for problem in svc["problems"]:
                stream = problem.get("stream_id")
                if stream is None:
                    continue
                if stream not in agencies:
                    agencies[stream] = await reader.case_agency(stream)
                if agencies[stream] != identity.agency:
                    problem["stream_id"] = OTHER_AGENCY
                    problem["event_id"] = None
        return _json(report)

    @api.get("/cases/{case_id}/export", summary="The case file, as JSON or CSV")
    async def export(
        reader: Reader,
        case_id: CaseId,
        identity: Caller,
        format: Literal["json", "csv"] = "json",
        as_of: Moment = None,
    ):
        await _case_access(reader, identity, case_id)
        data = await reader.export(case_id, format, as_of)
        return Response(
            data,
            media_type=MEDIA_TYPES[format],
            headers={"content-disposition": f'attachment; filename="{case_id}.{format}"'},
        )

    @api.get(
        "/reports/commissioner",
        summary="The agency's figures for commissioners as of a moment, small cells hidden",
    )
    async def commissioner_report(
        reader: Reader,
        identity: Caller,
        as_of: Moment = None,
        format: Literal["json", "csv"] = "json",
    ):
        access.authorize(identity, access.REPORT, agency=identity.agency)
        report = await reader.commissioner_report(identity.agency, as_of)
        if format == "json":
            return _json(report)
        name = f"mend-report-{identity.agency}-{report['as_of'][:10]}.csv"
        return Response(
            report_output.to_csv(report),
            media_type=MEDIA_TYPES["csv"],
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    return api


def build(
    settings: Settings | None = None,
    *,
    schemas: Schemas | None = None,
    topic_prefix: str = "",
) -> FastAPI:
    """The audit API on its own: a pool of the application role, read-only use of it."""
    settings = settings or Settings.from_env(AuditSettings.load())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url, min_size=1, max_size=10)
        app.state.audit = AuditReader(
            pool, schemas=schemas, bootstrap=settings.kafka_bootstrap, topic_prefix=topic_prefix
        )
        # Auditors are admitted by the hub's trust model as the sessions service keeps it (the
        # audit API consumes nothing itself): a suspended agency's or a deactivated auditor's
        # token is refused here at once too.
        trust_schema = (schemas or default_schemas())["sessions"]
        app.state.trust = TrustView(pool, trust_schema, settings.database_url)
        await app.state.trust.start()
        try:
            yield
        finally:
            await app.state.trust.stop()
            await pool.close()

    app = create_app("audit", lifespan)
    app.include_router(router())
    return app


def create() -> FastAPI:
    return build()
