"""The practitioner registry, per agency: the record kept of a practitioner, where it is stored,
and the directory table through which every service that needs the registry knows it.

Entries belong to one agency. The sessions service keeps them on one stream per agency
(`registry_stream`), written only by that agency's coordinators; the events carry the agency in
their envelope metadata. Events stored before the registry was split sit on the old single
`registry` stream (`LEGACY_REGISTRY_STREAM`): each belongs to the agency of the coordinator who
registered it, which its metadata names, so an entry registered by another agency never counts
as this agency's, whatever its practitioner id.

Every service learns the registry the same way: `PractitionerDirectory` applies
`PractitionerRegistered` events (from sessions' own store as a projection; in any other service
from `sessions.events.v1` through its own `registry` subscription, declared in its reactions)
into a `practitioner_registry` table keyed by (agency, practitioner id), and answers "who is
this practitioner in that agency". The subscription has its own consumer group, so a service that
starts to need the registry reads the topic from its start (retention is infinite) and knows
every registration ever made, legacy ones included.

The hub's `StaffQualificationsRecorded` (hub.events.v1, through each service's `hub`
subscription) feeds the same table: qualification facts come from the hub, whose coordinators
alone record them; the registrations above keep counting for data recorded before the hub.
Per (agency, practitioner) the newer record wins, whichever its source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from mend_events.app.db import fetch_dicts
from mend_events.contracts.catalog.hub import StaffQualificationsRecorded
from mend_events.contracts.catalog.sessions import PractitionerRegistered, Specialism
from mend_events.contracts.envelope import RecordedEvent

LEGACY_REGISTRY_STREAM = "registry"
SUBSCRIPTION = "registry"  # consumer group `<service>.registry` on sessions.events.v1
# A colon cannot occur in a case id (PseudoId), so no case can ever share a registry's stream.
_PREFIX = "registry:"

# Sexual-harm cases are complex and sensitive: a level-1 practitioner may join a team but not
# facilitate one. Adjust here, in one place, if the agencies' accreditation scheme says otherwise.
MIN_FACILITATOR_LEVEL = 2


def registry_stream(agency: str) -> str:
    """The stream holding `agency`'s registry entries."""
    return f"{_PREFIX}{agency}"


def is_registry_stream(stream_id: str) -> bool:
    return stream_id == LEGACY_REGISTRY_STREAM or stream_id.startswith(_PREFIX)


@dataclass(frozen=True, slots=True)
class Practitioner:
    id: str
    rj_trained: bool
    sexual_harm_trained: bool
    level: int
    specialisms: frozenset[Specialism] = frozenset()

    @classmethod
    def from_event(
        cls, event: PractitionerRegistered | StaffQualificationsRecorded
    ) -> Practitioner:
        return cls(
            id=event.person_id
            if isinstance(event, StaffQualificationsRecorded)
            else event.practitioner_id,
            rj_trained=event.rj_trained,
            sexual_harm_trained=event.sexual_harm_trained,
            level=event.level,
            specialisms=frozenset(event.specialisms),
        )

    def training_gaps(self) -> list[str]:
        gaps = []
        if not self.rj_trained:
            gaps.append("not trained in restorative justice")
        if not self.sexual_harm_trained:
            gaps.append("not trained in sexual-harm casework")
        return gaps

    def facilitation_gaps(self) -> list[str]:
        """Why this practitioner may not facilitate a sexual-harm case; empty when they may."""
        gaps = self.training_gaps()
        if self.level < MIN_FACILITATOR_LEVEL:
            gaps.append(f"level {self.level} is below the required {MIN_FACILITATOR_LEVEL}")
        return gaps

    def sign_off_gaps(self) -> list[str]:
        """Why this practitioner may not sign a risk decision off; empty when they may. A
        specialist signs off (DOMAIN.md stage 6): trained in both, and either a named specialist
        (who may be level 1, as in a team) or qualified to facilitate."""
        gaps = self.training_gaps()
        if not self.specialisms and self.level < MIN_FACILITATOR_LEVEL:
            gaps.append(f"neither a specialist nor of level {MIN_FACILITATOR_LEVEL} or above")
        return gaps

    @property
    def may_facilitate(self) -> bool:
        return not self.facilitation_gaps()

    def has(self, specialism: Specialism) -> bool:
        return specialism in self.specialisms


QUALIFICATIONS = StaffQualificationsRecorded.event_type  # the hub's record (hub.events.v1)


def registered(event: RecordedEvent) -> tuple[str, Practitioner] | None:
    """(agency, record) of a `PractitionerRegistered`, or of the hub's
    `StaffQualificationsRecorded`, else None. A registration's agency is the one whose
    coordinator registered it, from the envelope (the same for the per-agency streams and for
    the legacy single stream); the hub's record names its agency."""
    if event.event_type == QUALIFICATIONS and event.service == "hub":
        recorded = event.decode()
        assert isinstance(recorded, StaffQualificationsRecorded)
        return recorded.agency_id, Practitioner.from_event(recorded)
    if event.event_type != PractitionerRegistered.event_type:
        return None
    model = event.decode()
    assert isinstance(model, PractitionerRegistered)
    return event.metadata.agency, Practitioner.from_event(model)


_COLUMNS = (
    "agency, practitioner_id, rj_trained, sexual_harm_trained, level, specialisms, "
    "may_facilitate, registered_at, first_registered_at, source"
)


class PractitionerDirectory:
    """The current registry entry per (agency, practitioner), in `<schema>.practitioner_registry`
    (store/sql/10_practitioner_registry.sql). Usable as a projection of sessions' own events
    (`name`, `apply`, `reset`) and, inside any service's inbox transaction, for events consumed
    from `sessions.events.v1` (`apply` with one event): a redelivery writes the same row again."""

    name = "practitioner_registry"

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def apply(self, conn: asyncpg.Connection, events: Sequence[RecordedEvent]) -> None:
        rows = []
        for e in events:
            found = registered(e)
            if found is None:
                continue
            agency, p = found
            rows.append(
                (
                    agency,
                    p.id,
                    p.rj_trained,
                    p.sexual_harm_trained,
                    p.level,
                    sorted(str(s) for s in p.specialisms),
                    p.may_facilitate,
                    e.metadata.occurred_at,
                    e.metadata.occurred_at,
                    "hub" if e.service == "hub" else "registry",
                )
            )
        if not rows:
            return
        # A later registration supersedes; an older one arriving late (a redelivery, a replay
        # of the legacy stream) never overwrites a newer record.
        await conn.executemany(
            f"INSERT INTO {self.schema}.practitioner_registry ({_COLUMNS}) "
            f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
            f"ON CONFLICT (agency, practitioner_id) DO UPDATE SET "
            f"rj_trained = EXCLUDED.rj_trained, "
            f"sexual_harm_trained = EXCLUDED.sexual_harm_trained, level = EXCLUDED.level, "
            f"specialisms = EXCLUDED.specialisms, may_facilitate = EXCLUDED.may_facilitate, "
            f"registered_at = EXCLUDED.registered_at, source = EXCLUDED.source, "
            f"first_registered_at = LEAST("
            f"{self.schema}.practitioner_registry.first_registered_at, "
            f"EXCLUDED.first_registered_at) "
            f"WHERE {self.schema}.practitioner_registry.registered_at <= EXCLUDED.registered_at",
            rows,
        )

    async def reset(self, conn: asyncpg.Connection) -> None:
        # A rebuild of the registry projection: the hub's records are not its to delete.
        await conn.execute(
            f"DELETE FROM {self.schema}.practitioner_registry WHERE source = 'registry'"
        )

    async def hub_records(self, conn: asyncpg.Connection, agency: str) -> dict[str, Practitioner]:
        """The agency's practitioners whose current record is the hub's (newer than any
        registration of theirs): what the sessions gates lay over the registry streams."""
        rows = await conn.fetch(
            f"SELECT practitioner_id, rj_trained, sexual_harm_trained, level, specialisms "
            f"FROM {self.schema}.practitioner_registry WHERE agency = $1 AND source = 'hub'",
            agency,
        )
        return {r["practitioner_id"]: _record(r["practitioner_id"], r) for r in rows}

    async def get(
        self, conn: asyncpg.Connection, agency: str, practitioner_id: str
    ) -> Practitioner | None:
        row = await conn.fetchrow(
            f"SELECT rj_trained, sexual_harm_trained, level, specialisms "
            f"FROM {self.schema}.practitioner_registry "
            f"WHERE agency = $1 AND practitioner_id = $2",
            agency,
            practitioner_id,
        )
        return None if row is None else _record(practitioner_id, row)

    async def rows(self, conn: asyncpg.Connection, agency: str) -> list[dict[str, Any]]:
        """One agency's entries, for its listing: never another agency's."""
        return await fetch_dicts(
            conn,
            f"SELECT practitioner_id, rj_trained, sexual_harm_trained, level, specialisms, "
            f"may_facilitate, registered_at FROM {self.schema}.practitioner_registry "
            f"WHERE agency = $1 ORDER BY practitioner_id",
            agency,
        )

    async def owner_of(self, conn: asyncpg.Connection, practitioner_id: str) -> str | None:
        """The agency that registered this id first (None: nobody has). Another agency's later
        entry of the same id, as the legacy single stream let a coordinator write, never takes
        the id from it."""
        return await conn.fetchval(
            f"SELECT agency FROM {self.schema}.practitioner_registry WHERE practitioner_id = $1 "
            f"ORDER BY first_registered_at, agency LIMIT 1",
            practitioner_id,
        )


def _record(practitioner_id: str, row: Any) -> Practitioner:
    return Practitioner(
        id=practitioner_id,
        rj_trained=row["rj_trained"],
        sexual_harm_trained=row["sexual_harm_trained"],
        level=row["level"],
        specialisms=frozenset(Specialism(s) for s in row["specialisms"]),
    )
