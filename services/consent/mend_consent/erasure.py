"""The erasure request over HTTP: `POST /people/{person_id}/erasure` (mend_events.security.erasure
holds
the rule, the event and what every service does with it; `mend erase` is the same path)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from mend_events.contracts.actors import PSEUDO_ID_PATTERN
from mend_events.security.erasure import ErasureBody, request_erasure
from mend_events.web.commands import Caller, IdempotencyKey

PersonId = Annotated[str, Path(pattern=PSEUDO_ID_PATTERN)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid token"},
    403: {"description": "neither the person themself nor a coordinator of the agency"},
    422: {"description": "a malformed person id, basis or agency (`field`, `reason`)"},
}


def router() -> APIRouter:
    api = APIRouter(tags=["erasure"])

    @api.post(
        "/people/{person_id}/erasure",
        name="RequestErasure",
        status_code=201,
        responses={200: {"description": "already recorded (a retry)"}, **_ERRORS},
        summary="Erase a person's personal data in an agency (R7): every service destroys the "
        "person's data keys; the history keeps its events, the texts become unreadable",
    )
    async def erase(
        request: Request,
        response: Response,
        person_id: PersonId,
        body: ErasureBody,
        identity: Caller,
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        state = request.app.state
        result = await request_erasure(
            state.erasures,
            identity,
            person_id,
            body,
            settle=state.settle,
            correlation_id=request.state.correlation_id,
            idempotency_key=idempotency_key,
        )
        response.status_code = 201 if result.events else 200
        return {
            "person_id": person_id,
            "agency": identity.agency,
            "events": [{"event_id": str(e.event_id), "type": e.event_type} for e in result.events],
        }

    return api
