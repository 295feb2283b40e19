"""The trust model (security/trust): the hub's events in a service's tables, the snapshot every
instance keeps, and the admission of each request by it (suspension, deactivation, enrolment,
key rotation and retirement, allocations), in front of and behind the verifier's cache."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import hub
from mend_events.errors import Forbidden, Unauthenticated
from mend_events.security.identity import Identity, TokenVerifier
from mend_events.security.public_keys import DirectoryKeys
from mend_events.security.trust import TrustSnapshot, TrustTables, TrustView
from mend_events.security.trust.snapshot import AgencyTrust, StaffTrust, TrustedKey
from mend_testkit.devkeys import ensure_agency_keys, issue_token, private_key_path
from mend_testkit.directory import hub_event

AGENCY, PRAC, COORD = "agency-north", "prac-77ab12", "coord-0001aa"
CASE, CASE2 = "case-0001aa", "case-0002bb"


def _pem(key: ed25519.Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _snapshot(**over) -> TrustSnapshot:
    base = TrustSnapshot(
        version=1,
        agencies={AGENCY: AgencyTrust(AGENCY, False, "local")},
        staff={(AGENCY, PRAC): StaffTrust(Role.PRACTITIONER, True)},
        allocations={(AGENCY, PRAC): frozenset({CASE})},
    )
    return replace(base, **over)


def _prac(**over) -> Identity:
    return Identity(**{"agency": AGENCY, "role": Role.PRACTITIONER, "person_id": PRAC, **over})


# ---- admission (pure) ------------------------------------------------------------------------


def test_admitted_practitioner_gets_the_allocated_cases_not_the_claimed_ones() -> None:
    claimed = _prac(cases=frozenset({CASE2}))
    assert _snapshot().admit(claimed).cases == frozenset({CASE})


def test_suspended_agency_and_deactivated_staff_are_refused() -> None:
    suspended = _snapshot(agencies={AGENCY: AgencyTrust(AGENCY, True, "local")})
    with pytest.raises(Forbidden, match="suspended"):
        suspended.admit(_prac())
    deactivated = _snapshot(staff={(AGENCY, PRAC): StaffTrust(Role.PRACTITIONER, False)})
    with pytest.raises(Forbidden, match="deactivated"):
        deactivated.admit(_prac())


def test_a_participant_of_a_suspended_agency_is_still_admitted() -> None:
    """A suspension stops the agency's staff, never a participant's withdrawal or halt (R2, R3):
    failed before, when every token of a suspended agency was refused."""
    suspended = _snapshot(agencies={AGENCY: AgencyTrust(AGENCY, True, "local")})
    harmed = Identity(AGENCY, Role.HARMED_PERSON, "hp-0001aa")
    assert suspended.admit(harmed).person_id == "hp-0001aa"
    with pytest.raises(Forbidden, match="suspended"):
        suspended.admit(_prac())


def test_staff_of_a_hub_agency_must_be_enrolled_in_the_role_claimed() -> None:
    with pytest.raises(Forbidden, match="not enrolled"):
        _snapshot().admit(_prac(person_id="prac-unknown1"))
    with pytest.raises(Forbidden, match="enrolled as practitioner"):
        _snapshot().admit(_prac(role=Role.COORDINATOR))
    # Participants are not staff: their part in a case is the case's own events.
    hp = Identity(AGENCY, Role.HARMED_PERSON, "hp-0001aa")
    assert _snapshot().admit(hp) == hp


def test_agencies_the_hub_does_not_know_keep_development_keys() -> None:
    other = Identity("agency-dev", Role.PRACTITIONER, PRAC)
    assert _snapshot().admit(other).cases == frozenset()


# ---- the verifier with a snapshot: keys by kid, rotation, retirement, the cache ---------------


@pytest.fixture
def verifier(tmp_path: Path) -> TokenVerifier:
    ensure_agency_keys("agency-dev", tmp_path)
    return TokenVerifier(DirectoryKeys(tmp_path))


def _hub_token(key, kid: str, person: str = PRAC, role: str = "practitioner") -> str:
    return issue_token(AGENCY, role, person, kid=kid, private_key=key)


async def test_rotation_overlaps_and_a_retired_key_is_refused_even_cached(verifier) -> None:
    old, new = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    keys = {
        (AGENCY, "k1"): TrustedKey(old.public_key(), None),
        (AGENCY, "k2"): TrustedKey(new.public_key(), None),
    }
    trust = _snapshot(keys=keys)
    by_old, by_new = _hub_token(old, "k1"), _hub_token(new, "k2")
    assert (await verifier.authenticate(by_old, trust)).cases == frozenset({CASE})
    assert (await verifier.authenticate(by_new, trust)).person_id == PRAC
    retired = _snapshot(
        keys={**keys, (AGENCY, "k1"): TrustedKey(old.public_key(), datetime.now(UTC))}
    )
    with pytest.raises(Unauthenticated, match="retired"):
        await verifier.authenticate(by_old, retired)  # verified and cached a moment ago
    assert (await verifier.authenticate(by_new, retired)).person_id == PRAC
    later = datetime.now(UTC) + timedelta(hours=1)
    pending = _snapshot(keys={**keys, (AGENCY, "k1"): TrustedKey(old.public_key(), later)})
    assert (await verifier.authenticate(by_old, pending)).person_id == PRAC


async def test_a_hub_agency_is_verified_with_its_keys_alone(verifier, tmp_path) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    trust = _snapshot(keys={(AGENCY, "k1"): TrustedKey(key.public_key(), None)})
    ensure_agency_keys(AGENCY, tmp_path)  # a development key of the same agency on disk
    dev = issue_token(AGENCY, "practitioner", PRAC, keys_dir=tmp_path)
    with pytest.raises(Unauthenticated, match="key id"):
        await verifier.authenticate(dev, trust)
    other_kid = _hub_token(ed25519.Ed25519PrivateKey.generate(), "k9")
    with pytest.raises(Unauthenticated, match="key id"):
        await verifier.authenticate(other_kid, trust)
    forged = _hub_token(ed25519.Ed25519PrivateKey.generate(), "k1")
    with pytest.raises(Unauthenticated, match="signature"):
        await verifier.authenticate(forged, trust)


async def test_cached_token_is_refused_once_its_agency_is_suspended(verifier) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    keys = {(AGENCY, "k1"): TrustedKey(key.public_key(), None)}
    token = _hub_token(key, "k1")
    assert (await verifier.authenticate(token, _snapshot(keys=keys))).person_id == PRAC
    suspended = _snapshot(keys=keys, agencies={AGENCY: AgencyTrust(AGENCY, True, "local")})
    with pytest.raises(Forbidden, match="suspended"):
        await verifier.authenticate(token, suspended)
    gone = _snapshot(keys=keys, staff={(AGENCY, PRAC): StaffTrust(Role.PRACTITIONER, False)})
    with pytest.raises(Forbidden, match="deactivated"):
        await verifier.authenticate(token, gone)


async def test_unknown_issuer_url_is_refused(verifier) -> None:
    token = issue_token(
        "agency-dev", "practitioner", PRAC, extra_claims={"iss": "https://idp.example.org"},
        keys_dir=None, private_key=ed25519.Ed25519PrivateKey.generate(),
    )  # fmt: skip
    with pytest.raises(Unauthenticated, match="unknown issuer"):
        await verifier.authenticate(token, _snapshot())


# ---- the tables and the views of two instances -----------------------------------------------


async def _apply(pool, schema: str, *models_streams) -> int:
    tables = TrustTables(schema)
    version = 0
    async with pool.acquire() as conn, conn.transaction():
        for model, stream in models_streams:
            version = await tables.apply(conn, hub_event(model, stream, agency=AGENCY))
    return version


async def test_two_instances_see_every_change_from_its_notification(
    platform, schema, app_pool
) -> None:
    first = TrustView(app_pool, schema, platform.database_url)
    second = TrustView(app_pool, schema, platform.database_url)
    await first.start()
    await second.start()
    try:
        key = ed25519.Ed25519PrivateKey.generate()
        version = await _apply(
            app_pool, schema,
            (hub.AgencyOnboarded(agency_id=AGENCY, name="North", sign_in=hub.SignIn.LOCAL),
             hub.agency_stream(AGENCY)),
            (hub.AgencyKeyAdded(agency_id=AGENCY, kid="k1", public_key_pem=_pem(key)),
             hub.agency_stream(AGENCY)),
            (hub.StaffEnrolled(agency_id=AGENCY, person_id=PRAC, role=Role.PRACTITIONER),
             hub.staff_stream(PRAC)),
            (hub.CaseAllocated(agency_id=AGENCY, case_id=CASE, practitioner_id=PRAC,
                               reason=hub.AllocationReason.NEW_CASE), CASE),
        )  # fmt: skip
        for view in (first, second):
            seen = await view.until(version)
            assert seen.admit(_prac()).cases == frozenset({CASE})
            assert seen.key(AGENCY, "k1") is not None
        suspended = await _apply(
            app_pool, schema,
            (hub.AgencySuspended(agency_id=AGENCY, reason=hub.SuspensionReason.UNDER_REVIEW),
             hub.agency_stream(AGENCY)),
        )  # fmt: skip
        with pytest.raises(Forbidden, match="suspended"):
            (await second.until(suspended)).admit(_prac())
    finally:
        await first.stop()
        await second.stop()


async def test_deactivation_ends_allocations_and_history_keeps_them(
    platform, schema, app_pool
) -> None:
    alloc = hub.CaseAllocated(
        agency_id=AGENCY, case_id=CASE, practitioner_id=PRAC, reason=hub.AllocationReason.NEW_CASE
    )
    enrolled = hub.StaffEnrolled(agency_id=AGENCY, person_id=PRAC, role=Role.PRACTITIONER)
    deactivated = hub.StaffDeactivated(
        agency_id=AGENCY, person_id=PRAC, reason=hub.DeactivationReason.LEFT_AGENCY
    )
    event = hub_event(alloc, CASE, agency=AGENCY)
    tables = TrustTables(schema)
    async with app_pool.acquire() as conn, conn.transaction():
        await tables.apply(conn, hub_event(enrolled, hub.staff_stream(PRAC), agency=AGENCY))
        await tables.apply(conn, event)
        await tables.apply(conn, event)  # a redelivery adds nothing
        await tables.apply(conn, hub_event(deactivated, hub.staff_stream(PRAC), agency=AGENCY))
    view = TrustView(app_pool, schema, platform.database_url)
    await view.start()
    try:
        assert view.snapshot.cases_of(AGENCY, PRAC) == frozenset()
        with pytest.raises(Forbidden, match="deactivated"):
            view.snapshot.admit(_prac())
    finally:
        await view.stop()
    async with app_pool.acquire() as conn:
        history = await tables.history(conn, CASE)
    assert [(h["practitioner_id"], h["end_reason"]) for h in history] == [
        (PRAC, "staff_deactivated")
    ]


async def test_without_its_listener_a_view_reads_the_version_per_request(
    platform, schema, app_pool
) -> None:
    view = TrustView(app_pool, schema, platform.database_url)
    await view.start()
    try:
        await view._close_listener()  # as if the database connection were lost
        await _apply(
            app_pool, schema,
            (hub.AgencySuspended(agency_id=AGENCY, reason=hub.SuspensionReason.OTHER),
             hub.agency_stream(AGENCY)),
        )  # fmt: skip
        with pytest.raises(Forbidden, match="suspended"):
            (await view.current()).admit(_prac())
    finally:
        await view.stop()


async def test_an_allocation_change_reloads_only_that_practitioners_cases(
    platform, schema, app_pool
) -> None:
    enrolled = hub.StaffEnrolled(agency_id=AGENCY, person_id=PRAC, role=Role.PRACTITIONER)
    await _apply(app_pool, schema, (enrolled, hub.staff_stream(PRAC)))
    view = TrustView(app_pool, schema, platform.database_url)
    await view.start()
    try:
        before = view.snapshot
        reason = hub.AllocationReason.NEW_CASE
        version = await _apply(
            app_pool, schema,
            (hub.CaseAllocated(agency_id=AGENCY, case_id=CASE, practitioner_id=PRAC,
                               reason=reason), CASE),
            (hub.CaseAllocated(agency_id=AGENCY, case_id=CASE2, practitioner_id=PRAC,
                               reason=reason), CASE2),
        )  # fmt: skip
        after = await view.until(version)
        assert after.cases_of(AGENCY, PRAC) == frozenset({CASE, CASE2})
        assert after.version == version and after.staff is before.staff  # nothing else reread
        version = await _apply(
            app_pool, schema,
            (hub.CaseDeallocated(agency_id=AGENCY, case_id=CASE, practitioner_id=PRAC,
                                 reason=hub.AllocationReason.CASE_CLOSED), CASE),
        )  # fmt: skip
        assert (await view.until(version)).cases_of(AGENCY, PRAC) == frozenset({CASE2})
    finally:
        await view.stop()


async def test_a_provider_whose_keys_cannot_be_fetched_is_a_503_not_a_401(verifier) -> None:
    import socket

    from mend_events.errors import Unavailable
    from mend_events.security.trust import Provider

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    issuer = f"http://127.0.0.1:{port}"
    provider = Provider(AGENCY, issuer, f"{issuer}/jwks", "mend", "mend_role", "mend_pid")
    trust = _snapshot(providers={issuer: provider})
    token = issue_token(
        AGENCY, "practitioner", PRAC, kid="x1", private_key=ed25519.Ed25519PrivateKey.generate(),
        extra_claims={"iss": issuer},
    )  # fmt: skip
    with pytest.raises(Unavailable):
        await verifier.authenticate(token, trust)


async def test_a_development_key_token_cached_before_the_hub_published_keys_is_refused(
    verifier, tmp_path
) -> None:
    ensure_agency_keys(AGENCY, tmp_path)
    dev = issue_token(AGENCY, "practitioner", PRAC, keys_dir=tmp_path)
    assert (await verifier.authenticate(dev, _snapshot())).person_id == PRAC  # cached now
    published = {
        (AGENCY, "k1"): TrustedKey(ed25519.Ed25519PrivateKey.generate().public_key(), None)
    }
    with pytest.raises(Unauthenticated, match="not one of agency"):
        await verifier.authenticate(dev, _snapshot(keys=published))


async def test_a_token_cached_before_its_own_key_was_published_still_stands(
    verifier, tmp_path
) -> None:
    """Checked again, not refused outright: a token verified just before the hub's publication
    of the very key that signed it reached this service is still good (failed before: every
    token cached before the publication was refused, so a sign-in racing the key's event failed)."""
    ensure_agency_keys(AGENCY, tmp_path)
    private = serialization.load_pem_private_key(
        private_key_path(AGENCY, tmp_path).read_bytes(), password=None
    )
    token = issue_token(AGENCY, "practitioner", PRAC, keys_dir=tmp_path, kid="k1")
    assert (await verifier.authenticate(token, _snapshot())).person_id == PRAC  # cached now
    published = {(AGENCY, "k1"): TrustedKey(private.public_key(), None)}
    assert (await verifier.authenticate(token, _snapshot(keys=published))).person_id == PRAC


async def test_an_adopted_rule_pack_is_in_force_from_its_adoption_on(
    platform, schema, app_pool
) -> None:
    adopted = hub.RulePackAdopted(agency_id=AGENCY, pack_id="england-wales", version=2)
    event = hub_event(adopted, hub.agency_stream(AGENCY), agency=AGENCY)
    since = event.metadata.occurred_at
    view = TrustView(app_pool, schema, platform.database_url)
    await view.start()
    try:
        before = view.snapshot.rule_pack(AGENCY, since)
        assert before.ref == "england-wales@1"  # the default, before any adoption
        tables = TrustTables(schema)
        async with app_pool.acquire() as conn, conn.transaction():
            version = await tables.apply(conn, event)
            await tables.apply(conn, event)  # a redelivery adds nothing
        seen = await view.until(version)
        assert seen.rule_pack(AGENCY, since).ref == "england-wales@2"
        assert seen.rule_pack(AGENCY, since - timedelta(microseconds=1)).ref == "england-wales@1"
        assert seen.rule_pack("agency-other", since).ref == "england-wales@1"
    finally:
        await view.stop()
