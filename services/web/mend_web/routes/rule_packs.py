"""The coordinator's rule pack page: which pack the agency works under now, every version Mend
ships with what each would change against it (the same difference `python -m mend_events.rules
diff` prints), and the form that adopts one through the hub (with the coordinator's own token;
the hub decides). Adopting is how a revised framework, a survivor working group's for instance,
comes into force: reviewed here rule by rule first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from mend_events import rules
from mend_events.rules.diff import differences, shown

from mend_web.pages import Viewer, render, services, viewer

Coordinator = Annotated[Viewer, Depends(viewer("coordinator"))]
PackId = Annotated[str, Form(pattern=rules.PACK_ID)]
Version = Annotated[int, Form(ge=1, le=999_999)]


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/rules")
    async def packs(request: Request, me: Coordinator) -> Response:
        record = await services(request).agency(me.token, me.agency)
        current = rules.parse_ref(record.get("rule_pack") or rules.DEFAULT_REF)
        offered = [
            {
                "pack": pack,
                "current": pack == current,
                "changes": [(k, shown(a), shown(b)) for k, a, b in differences(current, pack)],
            }
            for pack in (rules.load(*key) for key in rules.available())
        ]
        ctx = {"current": current, "adopted": record.get("rule_pack") is not None,
               "offered": offered, "done": request.query_params.get("done")}  # fmt: skip
        return render(request, "coordinator/rules.html", ctx)

    @r.post("/rules")
    async def adopt(request: Request, me: Coordinator, pack_id: PackId, version: Version):
        await services(request).adopt_rule_pack(me.token, me.agency, pack_id, version)
        return RedirectResponse("/rules?done=adopted", status_code=303)

    return r
