"""Making a case known to a service as the sessions service's events would: the same
`CaseDirectory.apply` the subscription runs, on the test's own schema."""

from __future__ import annotations

import asyncpg


def sessions_event(case_id: str, model, *, agency: str = "agency-a", actor: str = "prac-seed01"):
    """A RecordedEvent of the sessions service, as its relay publishes it (for a consumer's
    handler, e.g. the case directory's `apply`)."""
    from mend_events.contracts.actors import Role

    from mend_testkit.samples import delivered

    role = Role.HARMED_PERSON if actor.startswith("hp-") else Role.PRACTITIONER
    return delivered("sessions", case_id, model, actor=actor, role=role, agency=agency)


async def open_case(
    runtime,
    case_id: str,
    harmed_person_id: str,
    *,
    agency: str = "agency-a",
    members: dict[str, str] | None = None,
) -> None:
    """Make `case_id` known to a service that is not the sessions service, through the same
    code path as the sessions service's CaseOpened and ParticipantEnrolled arriving over the
    broker (`CaseDirectory.apply` in a transaction). `members`: person id -> role."""
    from mend_events.contracts.catalog.sessions import (
        CaseOpened,
        HarmCategory,
        JusticeStage,
        ParticipantEnrolled,
        ParticipantRole,
        Route,
    )

    events = [
        sessions_event(
            case_id,
            CaseOpened(
                harm_category=HarmCategory.SEXUAL_ASSAULT,
                justice_stage=JusticeStage.NONE,
                agency=agency,
                harmed_person_id=harmed_person_id,
                route=Route.SELF_REFERRAL,
            ),
            agency=agency,
            actor=harmed_person_id,
        )
    ]
    for person, role in (members or {}).items():
        model = ParticipantEnrolled(person_id=person, role=ParticipantRole(role))
        events.append(sessions_event(case_id, model, agency=agency))
    async with runtime.pool.acquire() as conn:
        await apply_case_events(conn, runtime.schema, events)


async def apply_case_events(conn: asyncpg.Connection, schema: str, events: list) -> None:
    """Apply sessions events to `schema`'s case directory in one transaction, as the
    subscription's inbox transaction does."""
    from mend_events.security.cases import CaseDirectory

    directory = CaseDirectory(schema)
    async with conn.transaction():
        for event in events:
            await directory.apply(conn, event)


# --- the hub's trust model: agencies, staff, allocations -------------------------------------


def hub_event(model, stream: str, *, agency: str = "agency-a", actor: str = "coord-seed01"):
    """A RecordedEvent of the hub service, as its relay publishes it (for `TrustTables.apply`)."""
    from mend_events.contracts.actors import Role

    from mend_testkit.samples import delivered

    return delivered("hub", stream, model, actor=actor, role=Role.COORDINATOR, agency=agency)


def _runtimes(runtimes) -> list:
    return list(runtimes) if isinstance(runtimes, list | tuple) else [runtimes]


async def apply_hub_events(runtimes, events: list) -> int | None:
    """Apply hub events to each runtime's trust tables through the hub subscription's own code
    (`TrustTables.apply`, in one transaction as the inbox's), then wait until that runtime's
    trust view has heard of the change (its NOTIFY), as every instance does. Returns the last
    trust version written (for another instance on the same schema to wait for)."""
    from mend_events.security.trust import TrustTables

    version = None
    for runtime in _runtimes(runtimes):
        tables = TrustTables(runtime.schema)
        async with runtime.pool.acquire() as conn, conn.transaction():
            for event in events:
                version = await tables.apply(conn, event) or version
        if version is not None:
            await runtime.trust.until(version)
    return version


async def allocate(
    runtimes, case_id: str, practitioner_id: str, *, agency: str = "agency-a"
) -> None:
    """Allocate `practitioner_id` to `case_id` in each runtime's trust model (CaseAllocated)."""
    from mend_events.contracts.catalog.hub import AllocationReason, CaseAllocated

    new = AllocationReason.NEW_CASE
    await _allocation(runtimes, CaseAllocated, new, case_id, practitioner_id, agency)


async def deallocate(
    runtimes, case_id: str, practitioner_id: str, *, agency: str = "agency-a"
) -> None:
    """End `practitioner_id`'s allocation to `case_id` (CaseDeallocated)."""
    from mend_events.contracts.catalog.hub import AllocationReason, CaseDeallocated

    balance = AllocationReason.CASELOAD_BALANCE
    await _allocation(runtimes, CaseDeallocated, balance, case_id, practitioner_id, agency)


async def _allocation(runtimes, kind, reason, case_id: str, practitioner_id: str, agency: str):
    model = kind(agency_id=agency, case_id=case_id, practitioner_id=practitioner_id, reason=reason)
    await apply_hub_events(runtimes, [hub_event(model, case_id, agency=agency)])


async def allocate_volunteer(
    runtimes, case_id: str, volunteer_id: str, part: str, *, agency: str = "agency-a",
    valid_until=None,
) -> None:  # fmt: skip
    """Allocate a community volunteer to `case_id` for `part` in each runtime's trust model
    (VolunteerAllocated), current until `valid_until` (a date; a year from today by default)."""
    from datetime import UTC, datetime, timedelta

    from mend_events.contracts.catalog.hub import AllocationReason, VolunteerAllocated

    until = valid_until or (datetime.now(UTC) + timedelta(days=365)).date()
    model = VolunteerAllocated(
        agency_id=agency, case_id=case_id, volunteer_id=volunteer_id, part=part,
        reason=AllocationReason.NEW_CASE, valid_until=until,
    )  # fmt: skip
    await apply_hub_events(runtimes, [hub_event(model, case_id, agency=agency)])


def allocator(runtimes, *, agency: str = "agency-a"):
    """A journey driver's `allocate(case_id, practitioner_id)` over in-process runtimes."""

    async def allocate_case(case_id: str, practitioner_id: str) -> None:
        await allocate(runtimes, case_id, practitioner_id, agency=agency)

    return allocate_case


def database_allocator(database_url: str, schemas, *, agency: str = "agency-a"):
    """The same for services running elsewhere (`make demo`): the hub's CaseAllocated applied
    to each service schema's trust tables as the application role; each service's trust view
    hears of it through the NOTIFY sent in the same transaction. DEVELOPMENT ONLY: with a hub
    service, its events reach the services over `hub.events.v1` instead."""
    from mend_events.contracts.catalog.hub import AllocationReason, CaseAllocated
    from mend_events.security.trust import TrustTables

    async def allocate_case(case_id: str, practitioner_id: str) -> None:
        model = CaseAllocated(
            agency_id=agency,
            case_id=case_id,
            practitioner_id=practitioner_id,
            reason=AllocationReason.NEW_CASE,
        )
        event = hub_event(model, case_id, agency=agency)
        conn = await asyncpg.connect(database_url)
        try:
            for schema in schemas:
                async with conn.transaction():
                    await TrustTables(schema).apply(conn, event)
        finally:
            await conn.close()

    return allocate_case
