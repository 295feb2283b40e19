"""The practitioner's notices (/notices): what needs them on their cases (a halt, a
withdrawal, a severe flag, a reassessment due), each once, as the hub delivered it. Codes and
case ids only: the case page says the rest to whoever may read it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from mend_web.i18n import gettext as _
from mend_web.pages import Viewer, render, services, viewer

Staff = Annotated[Viewer, Depends(viewer("practitioner", "coordinator"))]


def _reason(code: str) -> str:
    return {
        "session_halted": _("A session was halted"),
        "consent_withdrawn": _("Consent was withdrawn"),
        "severe_flag": _("A severe risk flag was raised"),
        "reassessment_due": _("A risk reassessment is due"),
    }.get(code, _("Something needs you"))


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/notices")
    async def notices(request: Request, me: Staff) -> Response:
        rows = [{**n, "text": _reason(n["reason"])}
                for n in await services(request).notices(me.token)]  # fmt: skip
        return render(request, "practitioner/notices.html", {"notices": rows})

    return r
