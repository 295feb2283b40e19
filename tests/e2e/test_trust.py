"""The hub's trust model through a real service's routes (the consent service, on the real
database and broker): allocation and reallocation, suspension, deactivation and key retirement
refusing the very next request of a token the verifier has cached, on a second instance of the
service too, and the hub's events arriving over `hub.events.v1` through the `hub` subscription."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from mend_consent.app import build
from mend_events.app.settings import events_topic, kafka_options
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import hub
from mend_events.messaging.cloudevents import to_message
from mend_events.security.trust import TrustTables
from mend_testkit.devkeys import issue_token
from mend_testkit.directory import allocate, apply_hub_events, hub_event, open_case
from mend_testkit.fixtures import running_service

AGENCY, HP, PRAC, PRAC2 = "agency-t", "hp-alice01", "prac-carol1", "prac-dave01"
CASE = "case-0001aa"
READ = f"/cases/{CASE}/consents"


def _pem(key: ed25519.Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return raw.decode()


def _ev(model, stream: str):
    return hub_event(model, stream, agency=AGENCY)


@pytest.fixture
def key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def bearer(key, person: str, kid: str = "k1", role: str = "practitioner") -> dict[str, str]:
    """A token as the hub signs it: the agency's key, named by its kid."""
    raw = issue_token(AGENCY, role, person, kid=kid, private_key=key)
    return {"Authorization": f"Bearer {raw}"}


def onboarding(key) -> list:
    """A hub agency with one signing key, two practitioners, PRAC allocated to the case."""
    stream = hub.agency_stream(AGENCY)
    return [
        _ev(hub.AgencyOnboarded(agency_id=AGENCY, name="Test", sign_in=hub.SignIn.LOCAL), stream),
        _ev(hub.AgencyKeyAdded(agency_id=AGENCY, kid="k1", public_key_pem=_pem(key)), stream),
        *(
            _ev(hub.StaffEnrolled(agency_id=AGENCY, person_id=p, role=Role.PRACTITIONER),
                hub.staff_stream(p))
            for p in (PRAC, PRAC2)
        ),
        _ev(hub.CaseAllocated(agency_id=AGENCY, case_id=CASE, practitioner_id=PRAC,
                              reason=hub.AllocationReason.NEW_CASE), CASE),
    ]  # fmt: skip


@pytest.fixture
async def consent(platform, unique, topic_prefix, keys_dir, key):
    async with running_service(
        build, "consent", platform, unique, topic_prefix, lapse_interval=3600
    ) as running:
        await open_case(running[2], CASE, HP, agency=AGENCY)
        await apply_hub_events(running[2], onboarding(key))
        yield running


async def test_reallocation_takes_effect_on_the_next_request(consent, key):
    client, _, runtime = consent
    old, new = bearer(key, PRAC), bearer(key, PRAC2)
    assert (await client.get(READ, headers=old)).status_code == 200
    assert (await client.get(READ, headers=new)).status_code == 403
    # The coordinator reallocates: the old practitioner's deallocation and the new one's
    # allocation, appended together by the hub.
    await apply_hub_events(runtime, [
        _ev(hub.CaseDeallocated(agency_id=AGENCY, case_id=CASE, practitioner_id=PRAC,
                                reason=hub.AllocationReason.PARTICIPANT_REQUEST), CASE),
        _ev(hub.CaseAllocated(agency_id=AGENCY, case_id=CASE, practitioner_id=PRAC2,
                              reason=hub.AllocationReason.PARTICIPANT_REQUEST), CASE),
    ])  # fmt: skip
    r = await client.get(READ, headers=old)
    assert r.status_code == 403 and "allocated" in r.json()["reason"], r.text
    assert (await client.get(READ, headers=new)).status_code == 200
    async with runtime.pool.acquire() as conn:
        history = await TrustTables(runtime.schema).history(conn, CASE)
    assert [(h["practitioner_id"], h["end_reason"]) for h in history] == [
        (PRAC, "participant_request"),
        (PRAC2, None),
    ]


async def test_suspension_deactivation_and_retirement_refuse_a_cached_token_on_every_instance(
    consent, key, platform, unique, topic_prefix
):
    client, _, runtime = consent
    async with running_service(
        build, "consent", platform, unique, topic_prefix, keep_schema=True, lapse_interval=3600
    ) as (second, _, second_runtime):
        prac = bearer(key, PRAC)
        for c in (client, second):  # verified once, cached by each instance's verifier
            assert (await c.get(READ, headers=prac)).status_code == 200

        async def change(*events) -> None:
            """Through the first instance's apply path; the second hears of it by NOTIFY."""
            version = await apply_hub_events(runtime, list(events))
            await second_runtime.trust.until(version)

        async def answers(headers) -> list[tuple[int, str]]:
            out = []
            for c in (client, second):
                r = await c.get(READ, headers=headers)
                out.append((r.status_code, r.json().get("reason", "") if r.is_error else ""))
            return out

        staff = hub.staff_stream(PRAC)
        left = hub.DeactivationReason.LEFT_AGENCY
        await change(
            _ev(hub.StaffDeactivated(agency_id=AGENCY, person_id=PRAC, reason=left), staff)
        )
        assert [s for s, _ in await answers(prac)] == [403, 403]
        assert all("deactivated" in reason for _, reason in await answers(prac))
        # Deactivation ended the allocation too: reactivated, the practitioner has no case.
        await change(_ev(hub.StaffReactivated(agency_id=AGENCY, person_id=PRAC), staff))
        assert all("allocated" in reason for _, reason in await answers(prac))
        await allocate(runtime, CASE, PRAC, agency=AGENCY)
        await second_runtime.trust.until((await runtime.trust.current()).version)
        assert [s for s, _ in await answers(prac)] == [200, 200]

        stream = hub.agency_stream(AGENCY)
        incident = hub.SuspensionReason.SECURITY_INCIDENT
        await change(_ev(hub.AgencySuspended(agency_id=AGENCY, reason=incident), stream))
        assert await answers(prac) == [(403, "the token's agency is suspended")] * 2
        await change(_ev(hub.AgencyReinstated(agency_id=AGENCY), stream))
        assert [s for s, _ in await answers(prac)] == [200, 200]

        # Key rotation: a second key overlaps the first, then the first is retired.
        new_key = ed25519.Ed25519PrivateKey.generate()
        await change(_ev(hub.AgencyKeyAdded(agency_id=AGENCY, kid="k2",
                                            public_key_pem=_pem(new_key)), stream))  # fmt: skip
        rotated = bearer(new_key, PRAC, kid="k2")
        assert [s for s, _ in await answers(rotated)] == [200, 200]
        await change(_ev(hub.AgencyKeyRetired(agency_id=AGENCY, kid="k1",
                                              retired_at=datetime.now(UTC)), stream))  # fmt: skip
        assert [s for s, _ in await answers(prac)] == [401, 401]
        assert all("retired" in reason for _, reason in await answers(prac))
        assert [s for s, _ in await answers(rotated)] == [200, 200]
        # An unknown key id of a hub agency, and a development key of it: refused.
        assert [s for s, _ in await answers(bearer(key, PRAC, kid="k9"))] == [401, 401]


async def test_the_hub_subscription_applies_events_from_the_broker(
    consent, key, platform, topic_prefix
):
    client, _, _ = consent
    prac = bearer(key, PRAC)
    assert (await client.get(READ, headers=prac)).status_code == 200
    event = _ev(hub.AgencySuspended(agency_id=AGENCY, reason=hub.SuspensionReason.OTHER),
                hub.agency_stream(AGENCY))  # fmt: skip
    producer = AIOKafkaProducer(**kafka_options(platform.kafka_bootstrap), acks="all")
    await producer.start()
    try:
        k, value, headers = to_message(event)
        await producer.send_and_wait(events_topic("hub", topic_prefix), value, key=k,
                                     headers=headers)  # fmt: skip
    finally:
        await producer.stop()
    deadline = time.monotonic() + 30  # consumed over the broker: its delivery is awaited
    while (status := (await client.get(READ, headers=prac)).status_code) == 200:
        assert time.monotonic() < deadline, "the suspension never arrived"
        await asyncio.sleep(0.05)
    assert status == 403
