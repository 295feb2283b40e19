"""`Driver`: one HTTP client per service, a token source, and patient polling."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx
from mend_events.app.settings import SERVICES

from mend_testkit.journeys.people import (
    COORDINATOR,
    Allocator,
    Headers,
    NotInTime,
    StepFailed,
    T,
    Team,
    TokenSource,
)
from mend_testkit.samples import practitioner_body
from mend_testkit.waiting import wait_until

# The services every journey drives (a case's); the others (the hub) are used when given.
CASE_SERVICES = ("consent", "risk", "sessions", "aftercare")

# --- the driver -------------------------------------------------------------------------------


# Well inside the development tokens' hour (devkeys.issue_token's ttl).
REMINT_AFTER = 15 * 60


class Driver:
    """One HTTP client per service, a token source, and patient polling."""

    def __init__(
        self,
        clients: Mapping[str, httpx.AsyncClient],
        token: TokenSource,
        *,
        team: Team | None = None,
        timeout: float = 30.0,
        interval: float = 0.05,
        allocate: Allocator | None = None,
    ) -> None:
        missing = [s for s in CASE_SERVICES if s not in clients]
        if missing:
            raise ValueError(f"no client for {', '.join(missing)}")
        self.clients = dict(clients)
        self._token = token
        self._tokens: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}
        self._allocate = allocate
        self.team = team or Team()
        self.timeout = timeout
        self.interval = interval
        self._team_registered = False

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        token: TokenSource,
        *,
        urls: Mapping[str, str] | None = None,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        **options: Any,
    ) -> AsyncIterator[Driver]:
        """A driver over base URLs (a running platform) or ASGI transports (in process)."""
        async with contextlib.AsyncExitStack() as stack:
            clients = {}
            for service in SERVICES:
                if transports is not None and service in transports:
                    client = httpx.AsyncClient(
                        transport=transports[service], base_url=f"http://{service}"
                    )
                elif urls is not None and service in urls:
                    client = httpx.AsyncClient(base_url=urls[service], timeout=30.0)
                elif service in CASE_SERVICES:
                    raise ValueError(f"neither a URL nor a transport for {service}")
                else:
                    continue
                clients[service] = await stack.enter_async_context(client)
            yield cls(clients, token, **options)

    def auth(self, role: str, person: str) -> dict[str, str]:
        """A token for `role` and `person`, minted again once it is `REMINT_AFTER` seconds old:
        a long run (the hour's soak) outlives the tokens' hour, as a real client's session
        outlives its access tokens."""
        key = (role, person)
        now = time.monotonic()
        minted = self._tokens.get(key)
        if minted is None or now - minted[0] > REMINT_AFTER:
            minted = self._tokens[key] = (now, dict(self._token(role, person)))
        return minted[1]

    async def allocate(self, case_id: str, practitioner_id: str) -> None:
        """The hub allocates `practitioner_id` to the case (without an allocator: nobody)."""
        if self._allocate is not None:
            await self._allocate(case_id, practitioner_id)

    async def health(self) -> dict[str, bool]:
        """Whether each service answers its health check."""
        out = {}
        for service, client in self.clients.items():
            try:
                out[service] = (await client.get("/health")).status_code == 200
            except httpx.HTTPError:
                out[service] = False
        return out

    async def post(
        self,
        service: str,
        path: str,
        body: Any,
        headers: Headers,
        *,
        step: str,
        retry_if: Callable[[httpx.Response], bool] | None = None,
    ) -> dict[str, Any]:
        """POST; asked again while the service says it is catching up (503) or `retry_if`
        holds, until the timeout; any other refusal fails the step at once."""
        deadline = time.monotonic() + self.timeout
        while True:
            r = await self.clients[service].post(path, json=body, headers=dict(headers))
            if r.status_code in (200, 201):
                return r.json()
            again = r.status_code == 503 or (retry_if is not None and retry_if(r))
            if not again or time.monotonic() > deadline:
                raise StepFailed(step, r)
            await asyncio.sleep(self.interval)

    async def get(
        self, service: str, path: str, headers: Headers, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """GET; None while the service does not know it yet (404) or is catching up (503)."""
        r = await self.clients[service].get(path, headers=dict(headers), params=params)
        if r.status_code in (404, 503):
            return None
        if r.status_code != 200:
            raise StepFailed(f"read {path}", r)
        return r.json()

    async def eventually(
        self, what: str, probe: Callable[[], Awaitable[T | None]], within: float | None = None
    ) -> T:
        """Poll `probe` until it returns something truthy; NotInTime after `within` seconds
        (the driver's timeout by default)."""
        limit = self.timeout if within is None else within

        def late(_: Any) -> NotInTime:
            return NotInTime(f"{what}: not within {limit:.0f}s")

        return await wait_until(probe, limit, self.interval, timed_out=late)

    async def register_team(self) -> None:
        """The coordinator registers the practitioners' qualifications (once per driver; a
        registration that is already on record writes nothing)."""
        if self._team_registered:
            return
        t = self.team
        coordinator = self.auth(COORDINATOR, t.coordinator)
        for pid, level, specialisms in (
            (t.facilitator, 2, []),
            (t.survivor_specialist, 2, ["survivor_specialist"]),
            (t.hsb_specialist, 2, ["hsb_specialist"]),
        ):
            body = practitioner_body(pid, level, specialisms)
            await self.post("sessions", "/practitioners", body, coordinator, step=f"register {pid}")
        self._team_registered = True
