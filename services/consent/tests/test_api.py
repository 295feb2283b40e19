"""The consent service through its HTTP API, on the real database (and relay to the broker)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from mend_consent.app import build
from mend_testkit.directory import allocate, open_case
from mend_testkit.fixtures import running_service
from mend_testkit.refusals import clear_4xx
from mend_testkit.samples import consent_body

HP, RP, PRAC = "hp-alice01", "rp-bob0001", "prac-carol1"
CASE = "case-0001aa"


@pytest.fixture
async def consent(platform, unique, topic_prefix):
    async with running_service(
        build, "consent", platform, unique, topic_prefix, lapse_interval=3600
    ) as running:
        # The case as the sessions service opened it, the responsible person enrolled.
        await open_case(running[2], CASE, HP, members={RP: "responsible_person"})
        yield running


def give(scope: str, participant: str = HP, **extra) -> dict:
    return consent_body(participant, scope, **extra)


async def rows_of(runtime, table: str, case: str = CASE) -> int:
    async with runtime.pool.acquire() as conn:
        return await conn.fetchval(
            f"SELECT count(*) FROM {runtime.schema}.{table} WHERE "
            f"{'stream_id' if table == 'events' else 'case_id'} = $1",
            case,
        )


async def test_give_read_and_withdraw(consent, token):
    client, _, runtime = consent
    hp = token("harmed_person", HP)
    r = await client.post(f"/cases/{CASE}/consents", json=give("take_part"), headers=hp)
    assert r.status_code == 201, r.text
    r = await client.post(f"/cases/{CASE}/consents", json=give("contact:face_to_face"), headers=hp)
    assert r.status_code == 201
    await runtime.settle()
    grants = (await client.get(f"/cases/{CASE}/consents", headers=hp)).json()["grants"]
    assert {g["scope"] for g in grants} == {"take_part", "contact:face_to_face"}
    f2f = next(g for g in grants if g["scope"] == "contact:face_to_face")
    r = await client.post(
        f"/cases/{CASE}/consents/{f2f['grant_id']}/withdrawal",
        json={"reason": "I changed my mind"},
        headers=hp,
    )
    assert r.status_code == 201 and r.json()["events"][0]["type"] == "ConsentWithdrawn"
    history = (await client.get(f"/cases/{CASE}/consent-history", headers=hp)).json()
    withdrawn = history["events"][-1]
    assert withdrawn["type"] == "ConsentWithdrawn"
    assert withdrawn["data"]["reason"] == "I changed my mind"  # opened for its owner only
    # The reason is sealed in the store: the plaintext is nowhere in the events table.
    async with runtime.pool.acquire() as conn:
        raw = await conn.fetchval(
            f"SELECT data::text FROM {runtime.schema}.events WHERE event_type = 'ConsentWithdrawn'"
        )
    assert "changed my mind" not in raw and "A256GCM" in raw


async def test_bad_input_is_a_clear_4xx_and_writes_nothing(consent, token):
    client, _, runtime = consent
    hp = token("harmed_person", HP)
    rp = token("responsible_person", RP)
    cases = [
        # an incentive attested as offered
        (
            hp,
            "/consents",
            give("take_part", no_incentive_attested=False),
            422,
            "no_incentive_attested",
        ),
        # consent given for another participant
        (rp, "/consents", give("take_part", participant=HP), 403, None),
        # an unknown scope
        (hp, "/consents", give("contact:carrier_pigeon"), 422, "scope"),
        # an expiry in the past
        (
            hp,
            "/consents",
            give("take_part", expires_at=(datetime.now(UTC) - timedelta(days=1)).isoformat()),
            422,
            "expires_at",
        ),
        # a withdrawal of a grant that does not exist
        (hp, f"/consents/{uuid4()}/withdrawal", {}, 404, "grant_id"),
        # no token at all
        ({}, "/consents", give("take_part"), 401, None),
    ]
    for headers, path, body, status, field in cases:
        r = await client.post(f"/cases/{CASE}{path}", json=body, headers=headers)
        clear_4xx(r, status, field)
    assert await rows_of(runtime, "events") == 0


async def test_concurrent_withdrawals_give_one_event(consent, token):
    client, app, runtime = consent
    hp = token("harmed_person", HP)
    r = await client.post(f"/cases/{CASE}/consents", json=give("take_part"), headers=hp)
    grant = (await app.state.service.commands.load(CASE))[0].grants
    grant_id = next(iter(grant))
    results = await asyncio.gather(
        *(
            client.post(f"/cases/{CASE}/consents/{grant_id}/withdrawal", json={}, headers=hp)
            for _ in range(2)
        )
    )
    assert sorted(r.status_code for r in results) == [200, 201], [r.text for r in results]
    async with runtime.pool.acquire() as conn:
        n = await conn.fetchval(
            f"SELECT count(*) FROM {runtime.schema}.events WHERE event_type = 'ConsentWithdrawn'"
        )
    assert n == 1
    assert r.status_code == 201


async def test_responsible_person_cannot_read_harmed_persons_consent(consent, token):
    client, _, runtime = consent
    await client.post(
        f"/cases/{CASE}/consents", json=give("take_part"), headers=token("harmed_person", HP)
    )
    await client.post(
        f"/cases/{CASE}/consents",
        json=give("take_part", participant=RP),
        headers=token("responsible_person", RP),
    )
    await runtime.settle()
    rp = token("responsible_person", RP)
    mine = (await client.get(f"/cases/{CASE}/consents", headers=rp)).json()["grants"]
    assert {g["participant_id"] for g in mine} == {RP}
    r = await client.get(f"/cases/{CASE}/consents?participant_id={HP}", headers=rp)
    assert {g["participant_id"] for g in r.json()["grants"]} == {RP}
    history = (await client.get(f"/cases/{CASE}/consent-history", headers=rp)).json()
    assert all(e["data"].get("participant_id") == RP for e in history["events"])
    # An allocated facilitator sees both; one without the case sees nothing.
    await allocate(runtime, CASE, PRAC)
    staff = (
        await client.get(f"/cases/{CASE}/consents", headers=token("practitioner", PRAC))
    ).json()
    assert {g["participant_id"] for g in staff["grants"]} == {HP, RP}
    r = await client.get(f"/cases/{CASE}/consents", headers=token("practitioner", "prac-other1"))
    assert r.status_code == 403


async def test_a_share_grant_with_terms_is_given_listed_and_only_hers_to_withdraw(consent, token):
    client, _, runtime = consent
    hp, prac = token("harmed_person", HP), token("practitioner", PRAC)
    now = datetime.now(UTC)
    terms = {
        "purpose": "victim_support",
        "categories": ["case_progress", "aftercare"],
        "event_types": ["CaseOpened", "AftercareOffered"],
        "valid_from": now.isoformat(),
        "valid_until": (now + timedelta(days=30)).isoformat(),
    }
    scope = "share:victim-care"
    r = await client.post(f"/cases/{CASE}/consents", json=give(scope), headers=hp)
    assert r.status_code == 422 and r.json()["field"] == "share_terms"
    body = give(scope, share_terms={**terms, "event_types": ["Gossip"]})
    r = await client.post(f"/cases/{CASE}/consents", json=body, headers=hp)
    assert r.status_code == 422 and "Gossip" not in r.text
    r = await client.post(
        f"/cases/{CASE}/consents", json=give(scope, share_terms=terms), headers=hp
    )
    assert r.status_code == 201, r.text
    await runtime.settle()
    [grant] = (await client.get(f"/cases/{CASE}/consents", headers=hp)).json()["grants"]
    assert grant["share_terms"]["categories"] == ["case_progress", "aftercare"]
    assert grant["share_terms"]["legal_basis"] == "explicit_consent"
    path = f"/cases/{CASE}/consents/{grant['grant_id']}/withdrawal"
    assert (await client.post(path, headers=prac)).status_code == 403
    assert (await client.post(path, headers=hp)).status_code == 201


async def test_consent_without_an_expiry_takes_the_default_of_the_agency_s_rule_pack(
    consent, token
):
    """England and Wales v1 (the default) keeps consent a year, Scotland v1 183 days, from the
    agency's adoption on; the event names the pack; a retry after the adoption, with the first
    request's idempotency key, is still that request (bound to it, not to the derived expiry)."""
    from mend_consent.commands import GiveConsent
    from mend_events.commands.decider import CommandContext
    from mend_events.contracts.actors import Actor, Role
    from mend_events.contracts.catalog.hub import RulePackAdopted, agency_stream
    from mend_testkit.directory import apply_hub_events, hub_event

    client, app, runtime = consent
    hp = token("harmed_person", HP)
    keyed = {**hp, "Idempotency-Key": "give-take-part-1"}
    r = await client.post(f"/cases/{CASE}/consents", json=give("take_part"), headers=keyed)
    assert r.status_code == 201, r.text
    service = app.state.service
    me = Actor(id=HP, role=Role.HARMED_PERSON, agency="agency-a")
    letter = GiveConsent.model_validate(give("contact:letter"))

    def ctx() -> CommandContext:
        return CommandContext(me, datetime.now(UTC), uuid4())

    first = await service.execute(CASE, letter, ctx(), "own-1")
    assert first.events

    adopted = RulePackAdopted(agency_id="agency-a", pack_id="scotland", version=1)
    await apply_hub_events(runtime, [hub_event(adopted, agency_stream("agency-a"))])
    r = await client.post(f"/cases/{CASE}/consents", json=give("take_part"), headers=keyed)
    assert r.status_code in (200, 201) and r.json()["events"] == [], r.text
    again = await service.execute(CASE, letter, ctx(), "own-1")
    assert again.events == ()
    r = await client.post(f"/cases/{CASE}/consents", json=give("progress_updates"), headers=hp)
    assert r.status_code == 201, r.text

    history = (await client.get(f"/cases/{CASE}/consent-history", headers=hp)).json()
    given = {e["data"]["scope"]: e for e in history["events"] if e["type"] == "ConsentGiven"}
    assert len(given) == 3 and len(history["events"]) == 3

    def days(scope: str) -> int:
        e = given[scope]
        expiry = datetime.fromisoformat(e["data"]["expires_at"])
        return round((expiry - e["occurred_at_parsed"]).total_seconds() / 86400)

    for e in given.values():
        e["occurred_at_parsed"] = datetime.fromisoformat(e["occurred_at"])
        assert e["data"]["expiry_from_pack"] is True
    assert (given["take_part"]["data"]["rule_pack"], days("take_part")) == ("england-wales@1", 365)
    assert given["contact:letter"]["data"]["rule_pack"] == "england-wales@1"
    assert (given["progress_updates"]["data"]["rule_pack"], days("progress_updates")) == (
        "scotland@1",
        183,
    )
