"""The practitioner's work queue and case search, read from the web app's case index (never a
fan-out to the services): `/queue`, the due items of their caseload soonest first, each
linking to the case page; `/search`, cases by id prefix, stage, harm category and whether
anything is due: a practitioner's caseload, a coordinator's whole agency. The index answers
only within the signed-in person's agency (their token's), and a practitioner only for the
cases allocated to them there."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from mend_events.contracts.stages import STAGES

from mend_web.index import Index, Search
from mend_web.index.words import WORDS
from mend_web.pages import Viewer, is_htmx, render, viewer

Practitioner = Annotated[Viewer, Depends(viewer("practitioner"))]
Searcher = Annotated[Viewer, Depends(viewer("practitioner", "coordinator"))]
_ANY = "|"
Prefix = Annotated[str, Query(max_length=60, pattern=r"^[a-z0-9-]*$")]
Stage = Annotated[str, Query(pattern=rf"^({_ANY.join(('', *STAGES))})$")]
Harm = Annotated[str, Query(pattern=rf"^({_ANY.join(('', *WORDS['harm_words']))})$")]
Page = Annotated[int, Query(ge=0, le=10_000)]
# Rows a page shows: the soonest (or latest) first, the rest a link away.
PAGE = 50


def index(request: Request) -> Index:
    return request.app.state.index


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/queue")
    async def queue(request: Request, me: Practitioner, page: Page = 0) -> Response:
        items = await index(request).queue(me.agency, me.person_id, PAGE + 1, page * PAGE)
        ctx = {"items": items[:PAGE], **_pages("/queue", {}, page, len(items) > PAGE), **WORDS}
        return render(request, "practitioner/queue.html", ctx)

    @r.get("/search")
    async def search(
        request: Request,
        me: Searcher,
        q: Prefix = "",
        stage: Stage = "",
        harm: Harm = "",
        due: bool = False,
        page: Page = 0,
    ) -> Response:
        criteria = Search(q, stage or None, harm or None, due)
        mine = me.person_id if me.role == "practitioner" else None
        found = await index(request).search(
            me.agency, criteria, practitioner_id=mine, limit=PAGE + 1, offset=page * PAGE
        )
        layout = f"{me.role}/nav.html"
        asked = {"q": q, "stage": stage, "harm": harm, **({"due": "true"} if due else {})}
        ctx = {"cases": found[:PAGE], "criteria": criteria, "layout": layout, "stages": STAGES,
               "everyone": mine is None, **_pages("/search", asked, page, len(found) > PAGE),
               **WORDS}  # fmt: skip
        block = "results" if is_htmx(request) else None
        return render(request, "search.html", ctx, block=block)

    return r


def _pages(path: str, asked: dict[str, str], page: int, more: bool) -> dict[str, Any]:
    """The links to the previous and next pages of a list (None where there is none)."""

    def link(n: int) -> str:
        return f"{path}?{urlencode({**{k: v for k, v in asked.items() if v}, 'page': n})}"

    return {"earlier": link(page - 1) if page > 0 else None, "later": link(page + 1) if more
            else None}  # fmt: skip
