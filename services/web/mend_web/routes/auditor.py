"""The auditor's pages, read-only (no form here changes anything; every form is a GET): a case
looked up by its id, its history with each event's cause and consequences, its state as of any
moment (a date and time picker, or "as of this entry" on each line), every halt and withdrawal
with what caused it and what it caused (R9), the verification of the stores' hash chains, and
the case file as a download. Everything comes from the audit service with the auditor's own
token: it alone decides (auditors, their own agency's cases)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from mend_web.i18n import gettext as _
from mend_web.pages import Viewer, render, services, viewer

ROLES = ("auditor",)
Auditor = Annotated[Viewer, Depends(viewer(*ROLES))]
CASE_PATTERN = r"^case-[a-z0-9-]{3,60}$"
CasePath = Annotated[str, Path(pattern=CASE_PATTERN)]
# The picker's value (`YYYY-MM-DDTHH:MM[:SS]`, read as UTC) or an entry's own moment (with its
# timezone and microseconds); empty: as recorded now.
_MOMENT = r"^(|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)$"
AsOf = Annotated[str, Query(pattern=_MOMENT, max_length=40)]


def _moment(text: str) -> datetime | None:
    """The moment asked for, in UTC (the page says so); None for "as recorded"."""
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _picker(moment: datetime | None) -> str:
    """The picker's own spelling of a moment (to the second, no timezone)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") if moment else ""


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/audit")
    async def lookup(
        request: Request,
        me: Auditor,
        case_id: Annotated[str, Query(max_length=80)] = "",
    ) -> Response:
        """The case lookup (a GET form): a well-formed id goes to the case's history."""
        wanted = case_id.strip()
        if wanted and re.match(CASE_PATTERN, wanted):
            return RedirectResponse(f"/audit/cases/{wanted}", status_code=303)
        error = _("A case id looks like case-1234abcd.") if wanted else None
        ctx = {"error": error, "asked": wanted}
        return render(request, "auditor/lookup.html", ctx, status_code=422 if error else 200)

    @r.get("/audit/cases/{case_id}")
    async def history(
        request: Request, me: Auditor, case_id: CasePath, as_of: AsOf = ""
    ) -> Response:
        moment = _moment(as_of)
        doc = await services(request).audit_history(
            me.token, case_id, moment.isoformat() if moment else None
        )
        ctx = {"doc": doc, "case_id": case_id, "as_of": _picker(moment), "asked": as_of}
        return render(request, "auditor/history.html", ctx)

    @r.get("/audit/cases/{case_id}/halts")
    async def case_halts(request: Request, me: Auditor, case_id: CasePath) -> Response:
        found = await services(request).audit_halts(me.token, case_id)
        return render(request, "auditor/halts.html", {"halts": found, "case_id": case_id})

    @r.get("/audit/halts")
    async def agency_halts(request: Request, me: Auditor) -> Response:
        found = await services(request).audit_halts(me.token)
        return render(request, "auditor/halts.html", {"halts": found, "case_id": None})

    @r.get("/audit/cases/{case_id}/export")
    async def export(
        request: Request,
        me: Auditor,
        case_id: CasePath,
        format: Literal["json", "csv"] = "json",  # the audit API's own name
        as_of: AsOf = "",
    ) -> Response:
        """The case file (as of a moment, when one is asked) as a download: never cached (the
        app's headers), named after the case."""
        moment = _moment(as_of)
        at = moment.isoformat() if moment else None
        data = await services(request).audit_export(me.token, case_id, format, at)
        media = "application/json" if format == "json" else "text/csv; charset=utf-8"
        disposition = f'attachment; filename="{case_id}.{format}"'
        return Response(data, media_type=media, headers={"Content-Disposition": disposition})

    @r.get("/audit/verify")
    async def verify(
        request: Request, me: Auditor, kafka: Annotated[bool, Query()] = False
    ) -> Response:
        """The stores' hash chains (and, when asked, Kafka against the stores: slower)."""
        report = await services(request).audit_verify(me.token, kafka)
        return render(request, "auditor/verify.html", {"report": report, "kafka": kafka})

    return r
