"""The services a participant's pages read and act through, each call with the participant's own
token: the services decide what they may see (the disclosure filter) and do, never the web app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from mend_web.hub_client import ServiceError, _reason


@dataclass(frozen=True)
class ServiceUrls:
    consent: str
    sessions: str
    aftercare: str


class ParticipantServices:
    """One HTTP client per service, shared by every request of the app."""

    def __init__(self, urls: ServiceUrls, *, timeout: float = 10.0) -> None:
        self.urls = urls
        self._client = httpx.AsyncClient(timeout=timeout)

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(
        self, method: str, base: str, path: str, token: str | None, body: Any = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            r = await self._client.request(method, base + path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ServiceError(503) from exc
        if r.status_code == 404 and method == "GET":
            return None
        if r.is_error:
            raise ServiceError(r.status_code, _reason(r))
        return r.json() if r.content else {}

    # --- reads, each already filtered for the participant by the service --------------------
    async def consents(self, token: str, case_id: str) -> Mapping[str, Any] | None:
        return await self._call("GET", self.urls.consent, f"/cases/{case_id}/consents", token)

    async def case(self, token: str, case_id: str) -> Mapping[str, Any] | None:
        return await self._call("GET", self.urls.sessions, f"/cases/{case_id}", token)

    async def aftercare(self, token: str, case_id: str) -> Mapping[str, Any] | None:
        return await self._call("GET", self.urls.aftercare, f"/cases/{case_id}/aftercare", token)

    # --- the participant's own acts: no reason asked (R2, R3) --------------------------------
    async def withdraw(self, token: str, case_id: str, person_id: str, scope: str) -> None:
        body = {"participant_id": person_id, "scope": scope}
        await self._call("POST", self.urls.consent, f"/cases/{case_id}/withdrawals", token, body)

    async def halt(self, token: str, case_id: str, session_id: str) -> None:
        path = f"/cases/{case_id}/sessions/{session_id}/halt"
        await self._call("POST", self.urls.sessions, path, token)
