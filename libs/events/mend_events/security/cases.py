"""The case directory: which agency a case belongs to and who takes part in it, in what role.

A case belongs to the agency that opened it, and a person takes part in it only by the case's
own events in the sessions service (the owner of the case stream): the harmed person by
`CaseOpened`, everyone else by `ParticipantEnrolled`. Every service knows a case from those
events (`CaseDirectory.apply`, fed by its `sessions` subscription inside the inbox transaction;
the sessions service folds its own stream into the same `CaseEntry`), never from whichever
caller wrote to the case first. `authorize_case` is the one decision every service makes with
it: an unknown case is 404 (after waiting a bounded lag for its opening to arrive), another
agency's case 403, and the service's policy decides the rest, with the case's members in the
resource so a participant acts only on a case they take part in, in the role their token
claims (`policy.member_of_case`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from mend_events.app.config import MendSettings
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.sessions import CaseOpened, ParticipantEnrolled
from mend_events.contracts.envelope import RecordedEvent
from mend_events.errors import Forbidden, NotFound
from mend_events.security.identity import Identity
from mend_events.security.policy import Policy

__all__ = [
    "CASE_EVENTS",
    "CaseDirectory",
    "CaseEntry",
    "KnowsCases",
    "authorize_case",
    "case_lag_seconds",
    "unknown_case",
]

CASE_EVENTS = frozenset({"CaseOpened", "ParticipantEnrolled"})


def case_lag_seconds() -> float:
    """How long a command on a case this service does not know yet waits for its opening to
    arrive over the broker before it is refused (the same bound as the sessions consistency
    guard): `MEND_CASE_LAG_MS`, in seconds (read at each wait, so a test may change it)."""
    return MendSettings.load().case_lag_ms / 1000


@dataclass(frozen=True, slots=True)
class CaseEntry:
    case_id: str
    agency: str
    harmed_person_id: str
    members: Mapping[str, Role] = field(default_factory=dict)  # harmed person included

    def role_of(self, person_id: str | None) -> Role | None:
        return self.members.get(person_id) if person_id is not None else None

    def is_member(self, person_id: str | None, role: Role) -> bool:
        return self.role_of(person_id) == role


def unknown_case() -> NotFound:
    return NotFound("no case with this id is known here yet", field="case_id")


class CaseDirectory:
    """The `case_directory` and `case_members` tables of one service's schema."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        """Take in one sessions event (others are ignored). Idempotent: a redelivery, or the
        same event applied by a projection and a subscription, changes nothing."""
        if event.event_type not in CASE_EVENTS:
            return
        model = event.decode()  # a malformed contract goes to the dead letters, not through
        if isinstance(model, CaseOpened):
            # A case is opened once: the first opening fixes its agency and harmed person.
            await conn.execute(
                f"INSERT INTO {self.schema}.case_directory (case_id, agency, harmed_person_id, "
                f"opened_event_id) VALUES ($1, $2, $3, $4) ON CONFLICT (case_id) DO NOTHING",
                event.case_id,
                model.agency,
                model.harmed_person_id,
                event.event_id,
            )
            await self._member(conn, event, model.harmed_person_id, Role.HARMED_PERSON)
        elif isinstance(model, ParticipantEnrolled):
            await self._member(conn, event, model.person_id, Role(str(model.role)))

    async def _member(
        self, conn: asyncpg.Connection, event: RecordedEvent, person_id: str, role: Role
    ) -> None:
        # A person keeps the role they were first enrolled in (the domain refuses another).
        await conn.execute(
            f"INSERT INTO {self.schema}.case_members (case_id, person_id, role, source_event_id) "
            f"VALUES ($1, $2, $3, $4) ON CONFLICT (case_id, person_id) DO NOTHING",
            event.case_id,
            person_id,
            str(role),
            event.event_id,
        )

    async def entry(self, conn: asyncpg.Connection, case_id: str) -> CaseEntry | None:
        row = await conn.fetchrow(
            f"SELECT agency, harmed_person_id FROM {self.schema}.case_directory WHERE case_id = $1",
            case_id,
        )
        if row is None:
            return None
        members = await conn.fetch(
            f"SELECT person_id, role FROM {self.schema}.case_members WHERE case_id = $1",
            case_id,
        )
        return CaseEntry(
            case_id=case_id,
            agency=row["agency"],
            harmed_person_id=row["harmed_person_id"],
            members={m["person_id"]: Role(m["role"]) for m in members},
        )

    async def find(
        self, pool: asyncpg.Pool, case_id: str, *, wait: float | None = None
    ) -> CaseEntry | None:
        """The case's entry; a case not known yet is waited for, up to `wait` seconds (the
        bounded lag by default), without holding a connection while waiting."""
        deadline = time.monotonic() + (case_lag_seconds() if wait is None else wait)
        while True:
            async with pool.acquire() as conn:
                found = await self.entry(conn, case_id)
            if found is not None or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(0.05)


class KnowsCases:
    """`case` and `case_agency` of a service that learns its cases from the sessions service's
    events (`directory`, read on its `store`'s pool): one rule for a case's agency in every
    service, its opening, never whoever wrote to it first."""

    directory: CaseDirectory
    store: Any  # the service's EventStore (its pool)

    async def case(self, case_id: str, *, wait: float | None = None) -> CaseEntry | None:
        """The case as its opening and enrolments made it known here (None: not yet, after
        waiting the bounded lag)."""
        return await self.directory.find(self.store.pool, case_id, wait=wait)

    async def case_agency(self, case_id: str) -> str | None:
        entry = await self.case(case_id, wait=0)
        return entry.agency if entry else None


def authorize_case(
    policy: Policy,
    identity: Identity,
    action: str,
    entry: CaseEntry | None,
    *,
    person_id: str | None = None,
    **resource: Any,
) -> CaseEntry:
    """Raise unless `identity` may take `action` on the case of `entry`: NotFound (404) for a
    case not known here, Forbidden (403) for another agency's case, then the policy decides,
    with the case's agency and members in the resource (`person_id`: whose record the action
    touches). Returns the entry, known to exist."""
    if entry is None:
        raise unknown_case()
    if identity.agency != entry.agency:
        raise Forbidden("this case belongs to another agency", field="case_id")
    policy.authorize(
        identity,
        action,
        {
            **resource,
            "agency": entry.agency,
            "case_id": entry.case_id,
            "person_id": person_id,
            "members": entry.members,
        },
    )
    return entry
