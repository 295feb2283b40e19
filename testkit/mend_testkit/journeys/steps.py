"""The ground of every service's steps: one case, the identities acting in it, and how a
step keeps the ids of the events it wrote."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

import httpx

from mend_testkit.journeys.driver import Driver
from mend_testkit.journeys.people import (
    PRACTITIONER,
    Cast,
    Effect,
    Headers,
    Journey,
    case_on_its_way,
    either,
)

# --- one case, step by step -------------------------------------------------------------------


class Steps:
    """The ground every service's steps stand on: one case walked through the services.
    `events` holds the ids of what each step wrote, `effects` the consequences waited for,
    `sessions` the session ids by label."""

    def __init__(self, driver: Driver, name: str, title: str, case_id: str, cast: Cast) -> None:
        self.driver = driver
        self.name = name
        self.title = title
        self.id = case_id
        self.cast = cast
        self.events: dict[str, UUID] = {}
        self.effects: list[Effect] = []
        self.sessions: dict[str, str] = {}

    # -- identities
    def person(self, pid: str) -> dict[str, str]:
        return self.driver.auth(self.cast.role_of(pid), pid)

    @property
    def harmed(self) -> dict[str, str]:
        return self.person(self.cast.harmed)

    @property
    def facilitator(self) -> dict[str, str]:
        return self.driver.auth(PRACTITIONER, self.driver.team.facilitator)

    def journey(self) -> Journey:
        return Journey(
            self.name,
            self.title,
            self.id,
            self.cast,
            dict(self.events),
            tuple(self.effects),
            dict(self.sessions),
        )

    # -- recording
    def _keep(self, name: str, result: Mapping[str, Any], event_type: str | None = None) -> UUID:
        written = [e for e in result.get("events", []) if event_type in (None, e["type"])]
        if not written:
            raise AssertionError(f"{name}: the service wrote no {event_type or 'event'}")
        self.events[name] = UUID(written[0]["event_id"])
        return self.events[name]

    async def _do(
        self,
        service: str,
        path: str,
        body: Any,
        headers: Headers,
        name: str,
        *,
        event_type: str | None = None,
        retry_if: Callable[[httpx.Response], bool] | None = None,
    ) -> UUID:
        if service != "sessions":
            # The case is the sessions service's: the others learn of it over the broker.
            retry_if = either(retry_if, case_on_its_way)
        result = await self.driver.post(
            service, path, body, headers, step=f"{self.name}: {name}", retry_if=retry_if
        )
        return self._keep(name, result, event_type)
