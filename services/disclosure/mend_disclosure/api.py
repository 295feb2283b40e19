"""The disclosure gateway's HTTP API: reads only (partners receive through their topics)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from mend_events.contracts.actors import PSEUDO_ID_PATTERN
from mend_events.web.commands import Caller, CaseId, app_service

from mend_disclosure.service import DisclosureService

Svc = Annotated[DisclosureService, Depends(app_service)]
PersonId = Annotated[str, Path(pattern=PSEUDO_ID_PATTERN)]


def router() -> APIRouter:
    api = APIRouter(tags=["disclosure"])

    @api.get(
        "/cases/{case_id}/shared",
        summary="The shared part of a case, for a partner agency's practitioner with a current "
        "grant (read-only; the read is recorded in the disclosure ledger)",
    )
    async def shared(service: Svc, case_id: CaseId, identity: Caller):
        return await service.shared(case_id, identity)

    @api.get(
        "/people/{person_id}/disclosures",
        summary="Who learned what about this person, when, under which grant (auditors)",
    )
    async def disclosures(service: Svc, person_id: PersonId, identity: Caller):
        return await service.disclosures_about(person_id, identity)

    return api
