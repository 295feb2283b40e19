"""The trust tables' write side: the hub's agency, staff and allocation events, applied inside a
consumer's inbox transaction (store/sql/12-16_trust_*.sql). Idempotent: a redelivery writes the
same rows again, and an allocation is keyed by the event that made it."""

from __future__ import annotations

import hashlib
from datetime import datetime

import asyncpg

from mend_events import rules
from mend_events.app.db import fetch_dicts
from mend_events.contracts.catalog import hub
from mend_events.contracts.envelope import RecordedEvent

HUB = "hub"  # the service whose topic carries the events
SUBSCRIPTION = "hub"  # consumer group `<service>.hub` on hub.events.v1
ALLOCATION_SCOPE = (
    "allocations "  # a NOTIFY payload's scope: `<version> allocations <agency> <pid>`
)

TRUST_EVENTS = frozenset(
    {
        "AgencyOnboarded",
        "AgencyKeyAdded",
        "AgencyKeyRetired",
        "AgencyIdentityProviderSet",
        "AgencySuspended",
        "AgencyReinstated",
        "RulePackAdopted",
        "StaffEnrolled",
        "StaffDeactivated",
        "StaffReactivated",
        "CaseAllocated",
        "CaseDeallocated",
        "VolunteerAllocated",
        "VolunteerDeallocated",
    }
)


def channel_of(schema: str) -> str:
    """The NOTIFY channel of a schema's trust changes (at most 63 bytes, PostgreSQL's limit)."""
    name = f"mend_trust_{schema}"
    if len(name) <= 63:
        return name
    return f"mend_trust_{hashlib.sha256(schema.encode()).hexdigest()[:40]}"


class TrustTables:
    """`apply(conn, event)` for one hub event; returns the schema's new trust version (None when
    the event is not one of `TRUST_EVENTS`). The version and its NOTIFY are part of the caller's
    transaction: instances reload only once the change is committed."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> int | None:
        if event.event_type not in TRUST_EVENTS:
            return None
        model = event.decode()  # a malformed contract goes to the dead letters, not through
        at = event.metadata.occurred_at
        await _APPLY[type(model)](self, conn, model, event, at)
        # What a listening instance must reload: one practitioner's allocations, or everything.
        if isinstance(model, hub.CaseAllocated | hub.CaseDeallocated):
            scope = f"{ALLOCATION_SCOPE}{model.agency_id} {model.practitioner_id}"
        elif isinstance(model, hub.VolunteerAllocated | hub.VolunteerDeallocated):
            scope = f"{ALLOCATION_SCOPE}{model.agency_id} {model.volunteer_id}"
        else:
            scope = "all"
        version = await conn.fetchval(
            f"UPDATE {self.schema}.trust_version SET version = version + 1 RETURNING version"
        )
        await conn.execute(
            "SELECT pg_notify($1, $2)", channel_of(self.schema), f"{version} {scope}"
        )
        return int(version)

    # ---- agencies ---------------------------------------------------------------------------

    async def _onboarded(self, conn, m: hub.AgencyOnboarded, event, at) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.trust_agencies (agency, sign_in, changed_at, "
            f"source_event_id) VALUES ($1, $2, $3, $4) ON CONFLICT (agency) DO UPDATE SET "
            f"sign_in = EXCLUDED.sign_in",
            m.agency_id,
            str(m.sign_in),
            at,
            event.event_id,
        )

    async def _agency(self, conn, agency: str, event, at) -> None:
        # An agency event may arrive for an agency whose onboarding this schema has not seen
        # (e.g. a topic read from a later offset): it is known from then on.
        await conn.execute(
            f"INSERT INTO {self.schema}.trust_agencies (agency, changed_at, source_event_id) "
            f"VALUES ($1, $2, $3) ON CONFLICT (agency) DO NOTHING",
            agency,
            at,
            event.event_id,
        )

    async def _key_added(self, conn, m: hub.AgencyKeyAdded, event, at) -> None:
        await self._agency(conn, m.agency_id, event, at)
        await conn.execute(
            f"INSERT INTO {self.schema}.trust_agency_keys (agency, kid, public_key_pem, added_at) "
            f"VALUES ($1, $2, $3, $4) ON CONFLICT (agency, kid) DO NOTHING",
            m.agency_id,
            m.kid,
            m.public_key_pem,
            at,
        )

    async def _key_retired(self, conn, m: hub.AgencyKeyRetired, event, at) -> None:
        # The earliest retirement holds: a key once retired is never trusted again.
        await conn.execute(
            f"UPDATE {self.schema}.trust_agency_keys SET retired_at = LEAST("
            f"COALESCE(retired_at, $3), $3) WHERE agency = $1 AND kid = $2",
            m.agency_id,
            m.kid,
            m.retired_at,
        )

    async def _provider(self, conn, m: hub.AgencyIdentityProviderSet, event, at) -> None:
        await self._agency(conn, m.agency_id, event, at)
        await conn.execute(
            f"UPDATE {self.schema}.trust_agencies SET sign_in = 'oidc', issuer = $2, "
            f"jwks_url = $3, audience = $4, role_claim = $5, subject_claim = $6, changed_at = $7 "
            f"WHERE agency = $1",
            m.agency_id,
            m.issuer,
            m.jwks_url,
            m.audience,
            m.role_claim,
            m.subject_claim,
            at,
        )

    async def _status(self, conn, agency: str, status: str, event, at) -> None:
        await self._agency(conn, agency, event, at)
        await conn.execute(
            f"UPDATE {self.schema}.trust_agencies SET status = $2, changed_at = $3 "
            f"WHERE agency = $1",
            agency,
            status,
            at,
        )

    async def _suspended(self, conn, m: hub.AgencySuspended, event, at) -> None:
        await self._status(conn, m.agency_id, "suspended", event, at)

    async def _reinstated(self, conn, m: hub.AgencyReinstated, event, at) -> None:
        await self._status(conn, m.agency_id, "active", event, at)

    async def _rule_pack(self, conn, m: hub.RulePackAdopted, event, at) -> None:
        # Held until the inbox transaction commits, with the reactions that judge the agency's
        # standing decisions by the new pack inside it (see `hold_rule_packs`).
        await hold_rule_packs(conn, self.schema, m.agency_id, exclusive=True)
        await self._agency(conn, m.agency_id, event, at)
        await conn.execute(
            f"INSERT INTO {self.schema}.trust_rule_packs (source_event_id, agency, pack_ref, "
            f"since) VALUES ($1, $2, $3, $4) ON CONFLICT (source_event_id) DO NOTHING",
            event.event_id,
            m.agency_id,
            m.ref,
            at,
        )

    # ---- staff ------------------------------------------------------------------------------

    async def _enrolled(self, conn, m: hub.StaffEnrolled, event, at) -> None:
        await self._agency(conn, m.agency_id, event, at)
        await conn.execute(
            f"INSERT INTO {self.schema}.trust_staff (agency, person_id, role, changed_at) "
            f"VALUES ($1, $2, $3, $4) ON CONFLICT (agency, person_id) DO UPDATE SET "
            f"role = EXCLUDED.role, changed_at = EXCLUDED.changed_at",
            m.agency_id,
            m.person_id,
            str(m.role),
            at,
        )

    async def _active(self, conn, agency: str, person: str, active: bool, at) -> None:
        await conn.execute(
            f"UPDATE {self.schema}.trust_staff SET active = $3, changed_at = $4 "
            f"WHERE agency = $1 AND person_id = $2",
            agency,
            person,
            active,
            at,
        )

    async def _deactivated(self, conn, m: hub.StaffDeactivated, event, at) -> None:
        await self._active(conn, m.agency_id, m.person_id, False, at)
        # Their allocations end with their sign-in (the hub records the deallocations too;
        # whichever arrives first ends them, the other changes nothing).
        await conn.execute(
            f"UPDATE {self.schema}.trust_case_allocations SET ended_at = $3, ended_by = $4, "
            f"end_reason = $5, end_event_id = $6 "
            f"WHERE agency = $1 AND practitioner_id = $2 AND ended_at IS NULL",
            m.agency_id,
            m.person_id,
            at,
            event.metadata.actor_id,
            str(hub.AllocationReason.STAFF_DEACTIVATED),
            event.event_id,
        )

    async def _reactivated(self, conn, m: hub.StaffReactivated, event, at) -> None:
        await self._active(conn, m.agency_id, m.person_id, True, at)

    # ---- allocations ------------------------------------------------------------------------

    async def _allocated(self, conn, m: hub.CaseAllocated, event, at) -> None:
        await conn.execute(
            f"INSERT INTO {self.schema}.trust_case_allocations (allocation_event_id, agency, "
            f"case_id, practitioner_id, reason, allocated_at, allocated_by) "
            f"SELECT $1, $2, $3, $4, $5, $6, $7 WHERE NOT EXISTS (SELECT 1 FROM "
            f"{self.schema}.trust_case_allocations WHERE case_id = $3 AND practitioner_id = $4 "
            f"AND agency = $2 AND ended_at IS NULL) "
            f"ON CONFLICT (allocation_event_id) DO NOTHING",
            event.event_id,
            m.agency_id,
            m.case_id,
            m.practitioner_id,
            str(m.reason),
            at,
            event.metadata.actor_id,
        )

    async def _deallocated(self, conn, m: hub.CaseDeallocated, event, at) -> None:
        await self._end_allocation(
            conn, m.agency_id, m.case_id, m.practitioner_id, m.reason, event, at
        )

    async def _end_allocation(self, conn, agency, case_id, person_id, reason, event, at) -> None:
        """A practitioner's or a volunteer's current allocation to the case, ended."""
        await conn.execute(
            f"UPDATE {self.schema}.trust_case_allocations SET ended_at = $4, ended_by = $5, "
            f"end_reason = $6, end_event_id = $7 "
            f"WHERE agency = $1 AND case_id = $2 AND practitioner_id = $3 AND ended_at IS NULL",
            agency,
            case_id,
            person_id,
            at,
            event.metadata.actor_id,
            str(reason),
            event.event_id,
        )

    async def _volunteer_allocated(self, conn, m: hub.VolunteerAllocated, event, at) -> None:
        # A renewal allocates again: the current row takes its part and day; else a new row.
        renewed = await conn.fetchval(
            f"UPDATE {self.schema}.trust_case_allocations SET part = $4, valid_until = $5 "
            f"WHERE agency = $1 AND case_id = $2 AND practitioner_id = $3 AND ended_at IS NULL "
            f"RETURNING 1",
            m.agency_id,
            m.case_id,
            m.volunteer_id,
            str(m.part),
            m.valid_until,
        )
        if renewed:
            return
        await conn.execute(
            f"INSERT INTO {self.schema}.trust_case_allocations (allocation_event_id, agency, "
            f"case_id, practitioner_id, reason, allocated_at, allocated_by, part, valid_until) "
            f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
            f"ON CONFLICT (allocation_event_id) DO NOTHING",
            event.event_id,
            m.agency_id,
            m.case_id,
            m.volunteer_id,
            str(m.reason),
            at,
            event.metadata.actor_id,
            str(m.part),
            m.valid_until,
        )

    async def _volunteer_deallocated(self, conn, m: hub.VolunteerDeallocated, event, at) -> None:
        await self._end_allocation(
            conn, m.agency_id, m.case_id, m.volunteer_id, m.reason, event, at
        )

    async def history(self, conn: asyncpg.Connection, case_id: str) -> list[dict]:
        """A case's allocations, oldest first, with their ends (a coordinator's question)."""
        return await fetch_dicts(
            conn,
            f"SELECT agency, practitioner_id, reason, allocated_at, allocated_by, ended_at, "
            f"ended_by, end_reason FROM {self.schema}.trust_case_allocations "
            f"WHERE case_id = $1 ORDER BY allocated_at, allocation_event_id",
            case_id,
        )


_APPLY = {
    hub.AgencyOnboarded: TrustTables._onboarded,
    hub.AgencyKeyAdded: TrustTables._key_added,
    hub.AgencyKeyRetired: TrustTables._key_retired,
    hub.AgencyIdentityProviderSet: TrustTables._provider,
    hub.AgencySuspended: TrustTables._suspended,
    hub.AgencyReinstated: TrustTables._reinstated,
    hub.RulePackAdopted: TrustTables._rule_pack,
    hub.StaffEnrolled: TrustTables._enrolled,
    hub.StaffDeactivated: TrustTables._deactivated,
    hub.StaffReactivated: TrustTables._reactivated,
    hub.CaseAllocated: TrustTables._allocated,
    hub.CaseDeallocated: TrustTables._deallocated,
    hub.VolunteerAllocated: TrustTables._volunteer_allocated,
    hub.VolunteerDeallocated: TrustTables._volunteer_deallocated,
}


# ---- rule packs: an adoption against the decisions made as it arrives ---------------------------


async def hold_rule_packs(
    conn: asyncpg.Connection, schema: str, agency: str, *, exclusive: bool
) -> None:
    """The agency's rule-pack lock, until `conn`'s transaction ends. An adoption takes it
    exclusively while it records the pack and judges the standing decisions again; a decision
    takes it shared while it reads the pack in force and is appended. So a decision is either
    appended before the adoption looks (and judged again by it) or waits and reads the new
    pack: none made in the moment of an adoption keeps the old rules unjudged."""
    lock = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    await conn.execute(f"SELECT {lock}(hashtextextended($1, 0))", f"{schema} rule-packs {agency}")


async def rule_pack_in_force(
    conn: asyncpg.Connection, schema: str, agency: str, at: datetime
) -> rules.RulePack:
    """The pack in force for `agency` at `at` by the adoptions committed in `schema` (read under
    `hold_rule_packs`: the process's trust snapshot may not have reloaded one yet)."""
    rows = await conn.fetch(
        f"SELECT since, pack_ref FROM {schema}.trust_rule_packs WHERE agency = $1", agency
    )
    return rules.in_force([(r["since"], r["pack_ref"]) for r in rows], at)
