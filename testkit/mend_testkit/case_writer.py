"""A case history laid straight into the stores, for tests of the audit (and end-to-end tests
that want a known case on disk).

`CaseWriter` appends the services' real events straight into their stores, with the envelope a
service would give them (actor, role, agency, correlation, and for a reaction the causation id
of its cause), so a test can lay down a case history without running the services. The cases a
practitioner would recognise are written by `written_cases`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
from mend_audit.projection import migrate
from mend_events.app.settings import SERVICES, Settings
from mend_events.contracts.actors import Role
from mend_events.contracts.envelope import Metadata, NewEvent
from mend_events.contracts.events import DomainEvent
from mend_events.security.crypto import AgencyKeys, FieldSealer, PgKeyStore
from mend_events.store import EventStore

from mend_testkit.fixtures import drop_schema, make_schema

HP, RP, PRAC, SPECIALIST = "hp-alice01", "rp-bob0001", "prac-carol1", "prac-spec01"
AGENCY = "agency-a"
SYSTEM = {service: f"svc-{service}" for service in SERVICES}


@dataclass(frozen=True, slots=True)
class Written:
    service: str
    case_id: str
    event_id: UUID
    event_type: str
    version: int
    recorded_at: datetime
    correlation_id: UUID


@dataclass
class CaseWriter:
    """Appends events to the four stores as the services would record them."""

    stores: dict[str, EventStore]
    agency: str = AGENCY
    versions: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def clock(self) -> datetime:
        """When the next event occurs: now, as a service's command context would say."""
        return datetime.now(UTC)

    async def record(
        self,
        service: str,
        case_id: str,
        event: DomainEvent,
        actor_id: str,
        role: Role,
        *,
        cause: Written | None = None,
    ) -> Written:
        """Append one event; a `cause` makes it a consequence (causation id, shared correlation)."""
        correlation = cause.correlation_id if cause else uuid4()
        meta = Metadata(
            actor_id=actor_id,
            role=role,
            agency=self.agency,
            correlation_id=correlation,
            causation_id=cause.event_id if cause else None,
            occurred_at=self.clock,
        )
        key = (service, case_id)
        version = self.versions.get(key, 0)
        new = NewEvent(uuid4(), event, meta)
        result = await self.stores[service].append(case_id, [new], expected_version=version)
        self.versions[key] = result.version
        assert result.recorded_at is not None
        return Written(
            service,
            case_id,
            new.event_id,
            event.event_type,
            result.version,
            result.recorded_at,
            correlation,
        )

    async def system(
        self, service: str, case_id: str, event: DomainEvent, cause: Written
    ) -> Written:
        """A service's reaction to another event: the system actor, caused by `cause`."""
        return await self.record(service, case_id, event, SYSTEM[service], Role.SYSTEM, cause=cause)

    async def close(self) -> None:
        for store in self.stores.values():
            await store.close()


@dataclass
class AuditPlatform:
    """Four fresh service schemas and an audit schema for one test."""

    settings: Settings
    pool: asyncpg.Pool
    schemas: dict[str, str]
    audit_schema: str

    def writer(self, agency: str = AGENCY) -> CaseWriter:
        sealer = FieldSealer(PgKeyStore(self.pool, self.schemas["consent"]), AgencyKeys.from_env())
        stores = {
            s: EventStore(self.pool, schema, service=s, sealer=sealer if s == "consent" else None)
            for s, schema in self.schemas.items()
        }
        return CaseWriter(stores, agency=agency)


async def audit_schema_named(settings: Settings, name: str) -> str:
    """A fresh audit schema `name`, migrated by the admin (the caller drops it)."""
    conn = await asyncpg.connect(settings.admin_database_url)
    try:
        await migrate(conn, name)
    finally:
        await conn.close()
    return name


@contextlib.asynccontextmanager
async def audit_platform(
    settings: Settings, pool: asyncpg.Pool, unique: str
) -> AsyncIterator[AuditPlatform]:
    names = await asyncio.gather(*(make_schema(settings, s, f"{s}_{unique}") for s in SERVICES))
    schemas = dict(zip(SERVICES, names, strict=True))
    audit_schema = await audit_schema_named(settings, f"audit_{unique}")
    try:
        yield AuditPlatform(settings, pool, schemas, audit_schema)
    finally:
        await asyncio.gather(*(drop_schema(settings, n) for n in [*names, audit_schema]))
