"""Community volunteers in the trust model (issue 21): a volunteer allocated to a case for a part
is admitted with that case and that part only, while the allocation is current (the day its
vetting and training lapse is in it), and a service's `volunteer_part` rule lets them into that
case for that part and nothing else: not another case of the same agency, not another part."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import hub
from mend_events.errors import Forbidden
from mend_events.security.identity import Identity
from mend_events.security.policy import Policy, Rule, all_of, same_agency, volunteer_part
from mend_events.security.trust import TrustSnapshot, TrustTables, TrustView
from mend_events.security.trust.snapshot import AgencyTrust, StaffTrust
from mend_testkit.directory import hub_event

AGENCY, VOL, CASE, CASE2 = "agency-north", "vol-0001aa", "case-0001aa", "case-0002bb"
SUPPORT, CONFERENCE = hub.VolunteerPart.SUPPORT_PERSON, hub.VolunteerPart.CONFERENCE_MEMBER
TODAY = datetime(2026, 12, 7, 12, tzinfo=UTC)


def _snapshot(until: date, **over) -> TrustSnapshot:
    base = TrustSnapshot(
        version=1,
        agencies={AGENCY: AgencyTrust(AGENCY, False, "local")},
        staff={(AGENCY, VOL): StaffTrust(Role.VOLUNTEER, True)},
        allocations={(AGENCY, VOL): frozenset({CASE})},
        parts={(AGENCY, VOL): {CASE: (str(SUPPORT), until)}},
    )
    return replace(base, **over)


def _vol(**over) -> Identity:
    return Identity(**{"agency": AGENCY, "role": Role.VOLUNTEER, "person_id": VOL, **over})


def test_a_volunteer_is_admitted_with_their_case_and_part_only_while_it_is_current() -> None:
    current = _snapshot(TODAY.date()).admit(_vol(cases=frozenset({CASE2})), now=TODAY)
    assert current.cases == frozenset({CASE})
    assert current.part_in(CASE) == SUPPORT and current.part_in(CASE2) is None
    lapsed = _snapshot(TODAY.date() - timedelta(days=1)).admit(_vol(), now=TODAY)
    assert lapsed.cases == frozenset() and lapsed.parts == frozenset()


def test_a_volunteer_must_be_enrolled_and_active_at_a_hub_agency() -> None:
    with pytest.raises(Forbidden, match="not enrolled"):
        _snapshot(TODAY.date(), staff={}).admit(_vol(), now=TODAY)
    inactive = {(AGENCY, VOL): StaffTrust(Role.VOLUNTEER, False)}
    with pytest.raises(Forbidden, match="deactivated"):
        _snapshot(TODAY.date(), staff=inactive).admit(_vol(), now=TODAY)


def test_volunteer_part_lets_in_only_that_part_of_that_case() -> None:
    support = all_of(same_agency, volunteer_part(SUPPORT))
    policy = Policy([Rule("meeting.read", {Role.VOLUNTEER}, support)])
    admitted = _snapshot(TODAY.date()).admit(_vol(), now=TODAY)

    def may(identity: Identity, case: str, agency: str = AGENCY) -> bool:
        return policy.decide(identity, "meeting.read", {"agency": agency, "case_id": case}).allowed

    assert may(admitted, CASE)
    assert not may(admitted, CASE2)  # another case of the same agency
    assert not may(admitted, CASE, "agency-south")
    as_member = replace(admitted, parts=frozenset({(CASE, str(CONFERENCE))}))
    assert not may(as_member, CASE)  # another part
    # A practitioner's allocation to the case is no volunteer's part.
    prac = Identity(AGENCY, Role.PRACTITIONER, "prac-0001aa", frozenset({CASE}),
                    frozenset({(CASE, str(SUPPORT))}))  # fmt: skip
    assert not volunteer_part(SUPPORT)(prac, "meeting.read", {"case_id": CASE})


async def _apply(pool, schema: str, *models_streams) -> int:
    tables = TrustTables(schema)
    version = 0
    async with pool.acquire() as conn, conn.transaction():
        for model, stream in models_streams:
            version = await tables.apply(conn, hub_event(model, stream, agency=AGENCY))
    return version


def _allocated(case: str, until: date) -> tuple:
    model = hub.VolunteerAllocated(
        agency_id=AGENCY, case_id=case, volunteer_id=VOL, part=SUPPORT,
        reason=hub.AllocationReason.NEW_CASE, valid_until=until,
    )  # fmt: skip
    return model, case


async def test_allocation_renewal_and_end_reach_every_instance(platform, schema, app_pool) -> None:
    enrolled = hub.StaffEnrolled(agency_id=AGENCY, person_id=VOL, role=Role.VOLUNTEER)
    soon, later = date(2027, 1, 31), date(2027, 6, 30)
    await _apply(app_pool, schema, (enrolled, hub.staff_stream(VOL)), _allocated(CASE, soon))
    view = TrustView(app_pool, schema, platform.database_url)
    await view.start()  # a full load
    try:
        assert view.snapshot.parts[(AGENCY, VOL)] == {CASE: (str(SUPPORT), soon)}
        renewed = await _apply(app_pool, schema, _allocated(CASE, later), _allocated(CASE2, soon))
        seen = await view.until(renewed)  # an allocation's reload
        assert seen.parts[(AGENCY, VOL)] == {CASE: (str(SUPPORT), later),
                                             CASE2: (str(SUPPORT), soon)}  # fmt: skip
        assert seen.cases_of(AGENCY, VOL) == frozenset({CASE, CASE2})
        ended = hub.VolunteerDeallocated(
            agency_id=AGENCY, case_id=CASE2, volunteer_id=VOL,
            reason=hub.AllocationReason.CASE_CLOSED,
        )  # fmt: skip
        version = await _apply(app_pool, schema, (ended, CASE2))
        after = (await view.until(version)).admit(_vol(), now=TODAY)
        assert after.cases == frozenset({CASE}) and after.part_in(CASE) == SUPPORT
    finally:
        await view.stop()
    async with app_pool.acquire() as conn:
        rows = await TrustTables(schema).history(conn, CASE)
    assert len(rows) == 1  # the renewal changed the allocation, it did not add another
