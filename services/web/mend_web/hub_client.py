"""The services as the web app reaches them: over their HTTP APIs, with the signed-in person's
own access token and nothing else (the services decide every access; the web app holds no
authority of its own). Sign-in, refresh and sign-out go to the hub without a token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


class ServiceError(Exception):
    """A service answered with an error status (or could not be reached: status 503). `reason`
    is the service's own refusal reason, shown only where it is meant for the person."""

    def __init__(self, status: int, reason: str = "") -> None:
        super().__init__(f"{status}")
        self.status, self.reason = status, reason


def _reason(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return ""
    return str(body.get("reason", "")) if isinstance(body, dict) else ""


@dataclass
class Services:
    hub: httpx.AsyncClient
    sessions: httpx.AsyncClient

    @classmethod
    def at(cls, hub_url: str, sessions_url: str) -> Services:
        timeout = httpx.Timeout(10.0)
        return cls(
            httpx.AsyncClient(base_url=hub_url, timeout=timeout),
            httpx.AsyncClient(base_url=sessions_url, timeout=timeout),
        )

    async def aclose(self) -> None:
        await self.hub.aclose()
        await self.sessions.aclose()

    @staticmethod
    async def _call(
        client: httpx.AsyncClient,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        address: str | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if address:
            # The browser's address, for the hub's per-address attempt limit: without it every
            # sign-in would count against the web app's own address. The hub's server takes it
            # only from the addresses it trusts as proxies (uvicorn's --forwarded-allow-ips).
            headers["X-Forwarded-For"] = address
        try:
            r = await client.request(method, path, json=body, headers=headers)
        except httpx.HTTPError:
            raise ServiceError(503) from None
        if r.is_error:
            raise ServiceError(r.status_code, _reason(r))
        return r.json() if r.content else None

    # --- sign-in (the hub) ------------------------------------------------------------------

    async def sign_in(
        self, agency: str, username: str, password: str, address: str | None = None
    ) -> dict[str, Any]:
        body = {"agency": agency, "username": username, "password": password}
        return await self._call(self.hub, "POST", "/signin", body=body, address=address)

    async def second_factor(
        self, challenge: str, code: str, address: str | None = None
    ) -> dict[str, Any]:
        body = {"challenge": challenge, "code": code}
        path = "/signin/second-factor"
        return await self._call(self.hub, "POST", path, body=body, address=address)

    async def refresh(self, refresh_token: str, address: str | None = None) -> dict[str, Any]:
        body = {"refresh_token": refresh_token}
        return await self._call(self.hub, "POST", "/token/refresh", body=body, address=address)

    async def sign_out(self, refresh_token: str) -> None:
        await self._call(self.hub, "POST", "/signout", body={"refresh_token": refresh_token})

    # --- the hub's records ------------------------------------------------------------------

    async def caseload(self, token: str, person_id: str) -> list[dict[str, Any]]:
        path = f"/practitioners/{person_id}/caseload"
        return (await self._call(self.hub, "GET", path, token))["cases"]

    async def staff(self, token: str, agency: str) -> list[dict[str, Any]]:
        return (await self._call(self.hub, "GET", f"/agencies/{agency}/staff", token))["staff"]

    async def allocations(self, token: str, case_id: str) -> dict[str, Any]:
        return await self._call(self.hub, "GET", f"/cases/{case_id}/allocations", token)

    async def allocate(self, token: str, case_id: str, practitioner: str, reason: str) -> None:
        body = {"practitioner_id": practitioner, "reason": reason}
        await self._call(self.hub, "POST", f"/cases/{case_id}/allocations", token, body)

    async def reallocate(self, token: str, case_id: str, old: str, new: str, reason: str) -> None:
        body = {"from_practitioner_id": old, "to_practitioner_id": new, "reason": reason}
        path = f"/cases/{case_id}/allocations/reallocation"
        await self._call(self.hub, "POST", path, token, body)

    # --- the sessions service ---------------------------------------------------------------

    async def case(self, token: str, case_id: str) -> dict[str, Any]:
        return await self._call(self.sessions, "GET", f"/cases/{case_id}", token)

    async def gates(self, token: str, case_id: str, session_id: str) -> dict[str, Any]:
        path = f"/cases/{case_id}/sessions/{session_id}/gates"
        return await self._call(self.sessions, "GET", path, token)

    async def halt(self, token: str, case_id: str, session_id: str) -> None:
        path = f"/cases/{case_id}/sessions/{session_id}/halt"
        await self._call(self.sessions, "POST", path, token)
