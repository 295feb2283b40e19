"""The practitioner's work queue and case search, read from the web app's case index (never a
fan-out to the services): `/queue`, the due items of their caseload soonest first, each
linking to the case page; `/search`, cases by id prefix, stage, harm category and whether
anything is due: a practitioner's caseload, a coordinator's whole agency. The index answers
only within the signed-in person's agency (their token's), and a practitioner only for the
cases allocated to them there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from mend_web.index import Index, Search
from mend_web.index.model import STAGES
from mend_web.index.words import WORDS
from mend_web.pages import Viewer, is_htmx, render, viewer

Practitioner = Annotated[Viewer, Depends(viewer("practitioner"))]
Searcher = Annotated[Viewer, Depends(viewer("practitioner", "coordinator"))]
_ANY = "|"
Prefix = Annotated[str, Query(max_length=60, pattern=r"^[a-z0-9-]*$")]
Stage = Annotated[str, Query(pattern=rf"^({_ANY.join(('', *STAGES))})$")]
Harm = Annotated[str, Query(pattern=rf"^({_ANY.join(('', *WORDS['harm_words']))})$")]


def index(request: Request) -> Index:
    return request.app.state.index


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/queue")
    async def queue(request: Request, me: Practitioner) -> Response:
        items = await index(request).queue(me.agency, me.person_id)
        return render(request, "practitioner/queue.html", {"items": items, **WORDS})

    @r.get("/search")
    async def search(
        request: Request,
        me: Searcher,
        q: Prefix = "",
        stage: Stage = "",
        harm: Harm = "",
        due: bool = False,
    ) -> Response:
        criteria = Search(q, stage or None, harm or None, due)
        mine = me.person_id if me.role == "practitioner" else None
        found = await index(request).search(me.agency, criteria, practitioner_id=mine)
        layout = f"{me.role}/nav.html"
        ctx = {"cases": found, "criteria": criteria, "layout": layout, "stages": STAGES,
               "everyone": mine is None, **WORDS}  # fmt: skip
        block = "results" if is_htmx(request) else None
        return render(request, "search.html", ctx, block=block)

    return r
