"""The hub's rules as pure decisions (no I/O): agencies, staff and allocations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog.hub import (
    AllocationReason,
    DeactivationReason,
    SignIn,
    SuspensionReason,
    agency_stream,
    staff_stream,
)
from mend_events.contracts.envelope import Metadata
from mend_events.errors import Conflict, Forbidden, NotFound, Rejected
from mend_hub import commands as c
from mend_hub.domain import decider
from pydantic import ValidationError

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
A, B = "agency-a", "agency-b"
CASE, PRAC, PRAC2 = "case-0001aa", "prac-0001aa", "prac-0002aa"


def ctx(role: Role = Role.COORDINATOR, agency: str = A, now: datetime = NOW) -> CommandContext:
    return CommandContext(Actor(id="coord-0001aa", role=role, agency=agency), now, uuid4())


def pem(kind: str = "ed25519") -> str:
    key = (
        ed25519.Ed25519PrivateKey.generate()
        if kind == "ed25519"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def run(stream: str, *commands, context: CommandContext | None = None):
    """Decide each command on the state the earlier ones left; the last one's events."""
    state, events = decider.initial(stream), []
    for command in commands:
        at = context or ctx()
        events = decider.decide(state, command, at)
        meta = Metadata(at.actor.id, at.actor.role, at.actor.agency, uuid4(), None, at.now)
        for e in events:
            state = decider.evolve(state, e, meta)
    return state, events


def onboard(sign_in: SignIn = SignIn.LOCAL, kids: tuple[str, ...] = ("k1",)) -> c.OnboardAgency:
    keys = tuple(c.AgencyKey(kid=k, public_key_pem=pem()) for k in kids)
    return c.OnboardAgency(agency_id=A, name="North RJ", sign_in=sign_in, keys=keys)


# ---- agencies ---------------------------------------------------------------------------------


def test_onboarding_records_the_agency_and_its_keys():
    state, events = run(agency_stream(A), onboard(kids=("k1", "k2")))
    assert [e.event_type for e in events] == ["AgencyOnboarded", "AgencyKeyAdded", "AgencyKeyAdded"]
    assert state.active and [k.kid for k in state.keys] == ["k1", "k2"]


def test_onboarding_twice_is_a_conflict():
    with pytest.raises(Conflict) as refused:
        run(agency_stream(A), onboard(), onboard())
    assert refused.value.field == "agency_id"


def test_only_ed25519_public_keys_are_taken():
    with pytest.raises(ValidationError) as bad:
        c.AddAgencyKey(kid="k2", public_key_pem=pem("rsa"))
    assert bad.value.errors()[0]["loc"] == ("public_key_pem",)


def test_a_kid_is_unique_per_agency_even_once_retired():
    add = c.AddAgencyKey(kid="k2", public_key_pem=pem())
    retire = c.RetireAgencyKey("k1")
    with pytest.raises(Conflict) as refused:
        run(
            agency_stream(A), onboard(), add, retire, c.AddAgencyKey(kid="k1", public_key_pem=pem())
        )
    assert refused.value.field == "kid"


def test_the_last_key_of_a_local_agency_cannot_be_retired():
    with pytest.raises(Rejected) as refused:
        run(agency_stream(A), onboard(), c.RetireAgencyKey("k1"))
    assert refused.value.field == "kid"


def test_an_oidc_agency_may_retire_its_last_key():
    _, events = run(agency_stream(A), onboard(SignIn.OIDC), c.RetireAgencyKey("k1"))
    assert [e.event_type for e in events] == ["AgencyKeyRetired"]


def test_rotation_overlaps_until_the_old_key_retires():
    later = NOW + timedelta(hours=1)
    add = c.AddAgencyKey(kid="k2", public_key_pem=pem())
    state, events = run(agency_stream(A), onboard(), add, c.RetireAgencyKey("k1", later))
    assert events[0].retired_at == later
    old, new = state.keys
    assert old.active_at(NOW) and not old.active_at(later) and new.active_at(later)
    # the old key retiring, the new one is the last: it stays
    with pytest.raises(Rejected):
        run(
            agency_stream(A),
            onboard(),
            add,
            c.RetireAgencyKey("k1", later),
            c.RetireAgencyKey("k2"),
        )


def test_a_key_is_not_retired_in_the_past_nor_twice():
    add = c.AddAgencyKey(kid="k2", public_key_pem=pem())
    with pytest.raises(Rejected) as past:
        run(agency_stream(A), onboard(), add, c.RetireAgencyKey("k1", NOW - timedelta(minutes=1)))
    assert past.value.field == "retired_at"
    with pytest.raises(Conflict):
        run(agency_stream(A), onboard(), add, c.RetireAgencyKey("k1"), c.RetireAgencyKey("k1"))
    with pytest.raises(NotFound):
        run(agency_stream(A), onboard(), c.RetireAgencyKey("nope"))


def test_suspension_twice_and_reinstatement_without_one_are_conflicts():
    suspend = c.SuspendAgency(reason=SuspensionReason.UNDER_REVIEW)
    state, _ = run(agency_stream(A), onboard(), suspend)
    assert not state.active
    with pytest.raises(Conflict):
        run(agency_stream(A), onboard(), suspend, suspend)
    with pytest.raises(Conflict):
        run(agency_stream(A), onboard(), c.ReinstateAgency())
    state, _ = run(agency_stream(A), onboard(), suspend, c.ReinstateAgency())
    assert state.active


def test_commands_on_an_agency_not_onboarded_are_404():
    with pytest.raises(NotFound) as refused:
        run(agency_stream(A), c.SuspendAgency(reason=SuspensionReason.OTHER))
    assert refused.value.field == "agency_id"


def test_the_identity_provider_is_for_oidc_agencies_and_setting_it_again_is_nothing():
    idp = c.SetIdentityProvider(issuer="https://idp.example", jwks_url="https://idp.example/jwks")
    with pytest.raises(Rejected):
        run(agency_stream(A), onboard(), idp)
    state, events = run(agency_stream(A), onboard(SignIn.OIDC), idp, idp)
    assert events == [] and state.identity_provider.issuer == "https://idp.example"


# ---- staff ------------------------------------------------------------------------------------


def enrol(role: Role = Role.PRACTITIONER, agency: str = A) -> c.EnrolStaff:
    return c.EnrolStaff(agency, PRAC, role)


QUALS = c.RecordQualifications(A, True, True, 2, ())


def test_staff_are_enrolled_once_in_one_agency():
    _, again = run(staff_stream(PRAC), enrol(), enrol())
    assert again == []  # as asked already
    with pytest.raises(Conflict):
        run(staff_stream(PRAC), enrol(), enrol(agency=B))
    with pytest.raises(Rejected) as refused:
        run(staff_stream(PRAC), enrol(Role.HARMED_PERSON))
    assert refused.value.field == "role"


def test_only_practitioners_have_qualifications_and_a_same_record_is_nothing():
    state, events = run(staff_stream(PRAC), enrol(), QUALS, QUALS)
    assert events == [] and state.qualifications.level == 2
    with pytest.raises(Rejected):
        run(staff_stream(PRAC), enrol(Role.AUDITOR), QUALS)


def test_another_agencys_staff_are_not_found():
    with pytest.raises(NotFound) as refused:
        run(staff_stream(PRAC), enrol(), c.DeactivateStaff(B, DeactivationReason.OTHER))
    assert refused.value.field == "person_id"


def test_deactivation_and_reactivation_each_once():
    off = c.DeactivateStaff(A, DeactivationReason.LEFT_AGENCY)
    state, _ = run(staff_stream(PRAC), enrol(), off)
    assert not state.active
    with pytest.raises(Conflict):
        run(staff_stream(PRAC), enrol(), off, off)
    with pytest.raises(Conflict):
        run(staff_stream(PRAC), enrol(), c.ReactivateStaff(A))
    state, _ = run(staff_stream(PRAC), enrol(), off, c.ReactivateStaff(A))
    assert state.active


# ---- allocations ------------------------------------------------------------------------------


def standing(person: str = PRAC, **changes) -> c.Standing:
    values = {"agency_id": A, "role": Role.PRACTITIONER, "active": True, "agency_active": True}
    return c.Standing(person, **{**values, **changes})


def allocate(person: str = PRAC, **changes) -> c.AllocateCase:
    return c.AllocateCase(A, person, AllocationReason.NEW_CASE, standing(person, **changes))


def test_an_active_practitioner_of_the_agency_is_allocated_once():
    state, again = run(CASE, allocate(), allocate())
    assert again == [] and [a.practitioner_id for a in state.current] == [PRAC]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"agency_id": B}, NotFound),
        ({"role": Role.COORDINATOR}, Rejected),
        ({"active": False}, Rejected),
        ({"agency_active": False}, Forbidden),
    ],
)
def test_who_cannot_be_allocated(changes, error):
    with pytest.raises(error):
        run(CASE, allocate(**changes))


def test_someone_not_enrolled_is_not_found():
    with pytest.raises(NotFound) as refused:
        run(CASE, c.AllocateCase(A, PRAC, AllocationReason.NEW_CASE, None))
    assert refused.value.field == "practitioner_id"


def test_reallocation_ends_the_old_and_begins_the_new_together():
    move = c.ReallocateCase(A, PRAC, PRAC2, AllocationReason.CASELOAD_BALANCE, standing(PRAC2))
    state, events = run(CASE, allocate(), move)
    assert [(e.event_type, e.practitioner_id) for e in events] == [
        ("CaseDeallocated", PRAC),
        ("CaseAllocated", PRAC2),
    ]
    assert [a.practitioner_id for a in state.current] == [PRAC2]
    with pytest.raises(Conflict) as not_allocated:
        run(CASE, move)
    assert not_allocated.value.field == "from_practitioner_id"
    with pytest.raises(Rejected):
        run(CASE, allocate(), c.ReallocateCase(A, PRAC, PRAC, AllocationReason.OTHER, standing()))


def test_deallocation_and_the_hubs_own_reason():
    end = c.DeallocateCase(A, PRAC, AllocationReason.CASE_CLOSED)
    state, _ = run(CASE, allocate(), end)
    assert state.current == ()
    with pytest.raises(Conflict):
        run(CASE, end)
    by_hand = c.DeallocateCase(A, PRAC, AllocationReason.STAFF_DEACTIVATED)
    with pytest.raises(Rejected) as refused:
        run(CASE, allocate(), by_hand)
    assert refused.value.field == "reason"
    system = ctx(Role.SYSTEM)
    quiet = c.DeallocateCase(A, PRAC, AllocationReason.STAFF_DEACTIVATED, only_if_allocated=True)
    _, events = run(CASE, quiet, context=system)
    assert events == []


def test_a_case_stays_with_the_agency_of_its_first_allocation():
    other = c.AllocateCase(B, PRAC2, AllocationReason.NEW_CASE, standing(PRAC2, agency_id=B))
    with pytest.raises(Forbidden):
        run(CASE, allocate(), other)
