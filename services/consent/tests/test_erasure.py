"""Erasure of a person's personal data (R7), end to end on the real database and broker: the
request through the API and `mend erase`, who may ask, every process and every service that
held the person's keys, and what the history, the topics, the export and verify show after."""

from __future__ import annotations

import asyncio
import json
from uuid import uuid4

import pytest
from bus_helpers import read_topic, wait_until
from mend_audit.cli import main as mend
from mend_consent.app import build
from mend_events.app.settings import SERVICES, events_topic
from mend_events.security.crypto import PgKeyStore
from mend_risk.app import build as build_risk
from mend_testkit.directory import allocate, open_case
from mend_testkit.fixtures import drop_schema, make_schema, running_service
from mend_testkit.samples import consent_body

CASE, CASE2 = "case-erase0001", "case-erase0002"
HP, HP2, PRAC, COORD = "hp-alice01", "hp-dora0001", "prac-carol1", "coord-erin01"
CANARY = "CANARY-7f3a my neighbour Tom Smith at 12 Elm Street"
CANARY_WORDS = ("CANARY-7f3a", "Tom Smith", "Elm Street")


@pytest.fixture
async def consent(platform, unique, topic_prefix):
    async with running_service(
        build, "consent", platform, unique, topic_prefix, lapse_interval=3600
    ) as running:
        await open_case(running[2], CASE, HP)
        await open_case(running[2], CASE2, HP2)
        yield running


def give(scope: str, participant: str = HP) -> dict:
    return consent_body(participant, scope)


async def withdraw_with_reason(
    client, hp: dict, participant: str = HP, reason: str = CANARY, case: str = CASE
):
    consent = give("take_part", participant)
    r = await client.post(f"/cases/{case}/consents", json=consent, headers=hp)
    assert r.status_code == 201, r.text
    grants = (await client.get(f"/cases/{case}/consents", headers=hp)).json()["grants"]
    grant = grants[0]["grant_id"]
    r = await client.post(
        f"/cases/{case}/consents/{grant}/withdrawal", json={"reason": reason}, headers=hp
    )
    assert r.status_code == 201, r.text


async def reasons(client, headers: dict, case: str = CASE) -> list:
    history = (await client.get(f"/cases/{case}/consent-history", headers=headers)).json()
    return [e["data"]["reason"] for e in history["events"] if e["type"] == "ConsentWithdrawn"]


async def erasures(runtime) -> list[dict]:
    async with runtime.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT stream_id, data, metadata FROM {runtime.schema}.events "
            "WHERE event_type = 'PersonalDataErased' ORDER BY global_position"
        )
    return [dict(r) for r in rows]


async def test_the_person_or_their_agencys_coordinator_erase_through_the_api(consent, token):
    client, _, runtime = consent
    await allocate(runtime, CASE, PRAC)
    hp = token("harmed_person", HP)
    await withdraw_with_reason(client, hp)
    assert await reasons(client, hp) == [CANARY]

    url = f"/people/{HP}/erasure"
    body = {"basis": "data_subject_request"}
    refused = {
        "another agency's coordinator": (token("coordinator", COORD, "agency-b"), "agency-a"),
        "another participant": (token("harmed_person", HP2), None),
        "the responsible person": (token("responsible_person", "rp-bob0001"), None),
        "the case's practitioner": (token("practitioner", PRAC), None),
        "an auditor": (token("auditor", "aud-0001"), None),
        "an operator": (token("operator", "ops-0001"), None),
        "the person, naming another agency": (hp, "agency-b"),
    }
    for who, (headers, agency) in refused.items():
        r = await client.post(url, json={**body, "agency": agency}, headers=headers)
        assert r.status_code == 403, who
        assert r.json()["reason"] and CANARY not in r.text
    assert await erasures(runtime) == []
    assert await reasons(client, hp) == [CANARY]

    # Another agency's coordinator acting in their own agency touches nothing of agency-a.
    r = await client.post(url, json=body, headers=token("coordinator", COORD, "agency-b"))
    assert r.status_code == 201
    assert await reasons(client, hp) == [CANARY]

    r = await client.post(url, json={"basis": "because I said so"}, headers=hp)
    assert r.status_code == 422 and r.json()["field"] == "basis"
    r = await client.post("/people/Tom Smith/erasure", json=body, headers=hp)
    assert r.status_code == 422 and "Tom" not in r.text

    retry = {**hp, "Idempotency-Key": "erase-1"}
    r = await client.post(url, json=body, headers=retry)  # the person themself
    assert r.status_code == 201, r.text
    assert r.json()["events"][0]["type"] == "PersonalDataErased"
    assert await reasons(client, hp) == ["[erased]"]
    r = await client.post(url, json=body, headers=retry)  # a retry records nothing more
    assert r.status_code == 200 and r.json()["events"] == []

    # A coordinator of the agency erases another participant's data.
    hp2 = token("harmed_person", HP2)
    await withdraw_with_reason(client, hp2, HP2, "another text", CASE2)
    r = await client.post(
        f"/people/{HP2}/erasure",
        json={"basis": "legal_obligation", "agency": "agency-a"},
        headers=token("coordinator", COORD),
    )
    assert r.status_code == 201
    assert await reasons(client, hp2, CASE2) == ["[erased]"]

    # Recorded with no personal data: who asked is the envelope's actor, the basis a code.
    recorded = await erasures(runtime)
    assert [(e["stream_id"], e["data"]) for e in recorded] == [
        (f"erasure.agency-b.{HP}", {"person_id": HP, "basis": "data_subject_request"}),
        (f"erasure.agency-a.{HP}", {"person_id": HP, "basis": "data_subject_request"}),
        (f"erasure.agency-a.{HP2}", {"person_id": HP2, "basis": "legal_obligation"}),
    ]
    assert [(e["metadata"]["actor_id"], e["metadata"]["role"]) for e in recorded] == [
        (COORD, "coordinator"),
        (HP, "harmed_person"),
        (COORD, "coordinator"),
    ]

    # Text the person gives after the erasure is theirs again, under a fresh key.
    await withdraw_with_reason(client, hp, HP, "later words")
    assert await reasons(client, hp) == ["[erased]", "later words"]


async def test_every_process_stops_serving_the_field_at_once(platform, unique, topic_prefix, token):
    """Two processes of the consent service on one schema: B has just shown the text (its key
    was warm), A records the erasure, and B's very next read shows it erased: no waiting."""
    async with (
        running_service(build, "consent", platform, unique, topic_prefix, lapse_interval=3600) as (
            a,
            _,
            runtime_a,
        ),
        running_service(
            build,
            "consent",
            platform,
            unique,
            topic_prefix,
            lapse_interval=3600,
            keep_schema=True,
        ) as (b, _, _),
    ):
        await open_case(runtime_a, CASE, HP)
        hp = token("harmed_person", HP)
        await withdraw_with_reason(a, hp)
        assert await reasons(b, hp) == [CANARY]
        assert await reasons(a, hp) == [CANARY]
        r = await a.post(
            f"/people/{HP}/erasure", json={"basis": "data_subject_request"}, headers=hp
        )
        assert r.status_code == 201
        assert await reasons(b, hp) == ["[erased]"]
        assert await reasons(a, hp) == ["[erased]"]


@pytest.fixture
async def audit_schemas(platform, unique):
    """Empty stores of the services this test does not run, so audit tools read only its own."""
    made = {
        s: await make_schema(platform, s, f"{s}_{unique}") for s in ("sessions", "aftercare", "hub")
    }
    yield made
    for schema in made.values():
        await drop_schema(platform, schema)


@pytest.fixture
def run_mend(capsys):
    """`mend ...` in a thread, as a shell would run it: (exit code, stdout, stderr)."""

    async def run(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(mend, list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def test_every_service_destroys_its_keys_and_nothing_shows_after(
    platform, unique, topic_prefix, token, audit_schemas, run_mend
):
    """Through `mend erase`: the consent service destroys its keys before answering, the risk
    service when it consumes the event; the event on the topic carries no personal data;
    history, export and `mend audit verify` after it."""
    async with (
        running_service(build, "consent", platform, unique, topic_prefix, lapse_interval=3600) as (
            client,
            _,
            consent,
        ),
        running_service(build_risk, "risk", platform, unique, topic_prefix) as (_, _, risk),
    ):
        await open_case(consent, CASE, HP)
        hp = token("harmed_person", HP)
        await withdraw_with_reason(client, hp)
        # The risk service holds a key of the person too (a resolution note about them).
        event_id = uuid4()
        where = dict(
            owner=HP,
            agency="agency-a",
            stream_id=CASE,
            event_id=event_id,
            event_type="RiskFlagResolved",
            schema_version=1,
            field="note",
        )
        sealed = await risk.sealer.seal_text(CANARY, **where)
        assert await risk.sealer.open_field(sealed, **where) == CANARY

        schemas = {"consent": consent.schema, "risk": risk.schema, **audit_schemas}
        schema_args = [a for s in SERVICES for a in ("--schema", f"{s}={schemas[s]}")]
        forbidden = token("coordinator", COORD, "agency-b")["Authorization"].split()[1]
        code, out, err = await run_mend(
            "erase",
            HP,
            "--basis",
            "data_subject_request",
            "--agency",
            "agency-a",
            "--token",
            forbidden,
            *schema_args,
        )
        assert code == 2 and "mend erase: error:" in err and out == ""
        assert await erasures(consent) == []

        coordinator = token("coordinator", COORD)["Authorization"].split()[1]
        code, out, err = await run_mend(
            "erase",
            HP,
            "--basis",
            "data_subject_request",
            "--token",
            coordinator,
            *schema_args,
            "--json",
        )
        assert code == 0, err
        answer = json.loads(out)
        assert answer["person_id"] == HP and answer["agency"] == "agency-a"
        assert answer["events"][0]["type"] == "PersonalDataErased"
        assert answer["keys_destroyed"] == 1  # the consent service's, before the answer
        # ... so every process of the consent service shows it erased now.
        assert await reasons(client, hp) == ["[erased]"]

        # The risk service destroys its key when it consumes the event (inbox transaction).
        async def risk_key_gone() -> bool:
            record = await PgKeyStore(risk.pool, risk.schema).get_key(sealed.kid)
            return record is not None and record.shredded_at is not None

        await wait_until(risk_key_gone, timeout=60)
        assert await risk.sealer.open_field(sealed, **where) is None

        # On the topic: the event, with an id and a code, nothing else, no text.
        messages = await read_topic(
            platform.kafka_bootstrap, events_topic("consent", topic_prefix), expect=3
        )
        erased = [
            m for m in messages if dict(m.headers)["ce_type"].endswith(b".PersonalDataErased")
        ]
        assert len(erased) == 1
        assert json.loads(erased[0].value) == {"person_id": HP, "basis": "data_subject_request"}
        assert erased[0].key == f"erasure.agency-a.{HP}".encode()
        for m in messages:
            seen = m.value + b"".join(v for _, v in m.headers)
            assert not any(w.encode() in seen for w in CANARY_WORDS)

        # Nothing shows the text: the stores, the export, and verify still passes.
        for runtime in (consent, risk):
            async with runtime.pool.acquire() as conn:
                raw = await conn.fetchval(
                    f"SELECT string_agg(data::text, ' ') FROM {runtime.schema}.events"
                )
            assert not any(w in (raw or "") for w in CANARY_WORDS)
        audit_args = ["audit", *schema_args, "--topic-prefix", topic_prefix]
        code, exported, _ = await run_mend(*audit_args, "export", CASE, "--format", "json")
        assert code == 0 and '"reason"' in exported
        assert not any(w in exported for w in CANARY_WORDS)
        code, out, err = await run_mend(
            *audit_args, "verify", "--service", "consent", "--service", "risk"
        )
        assert code == 0, out + err


async def test_mend_erase_admits_the_caller_by_the_trust_model_as_the_services_do(
    consent, run_mend
):
    """`mend erase` verifies the token as the consent service would (the hub's keys by kid, a
    suspended agency refused), not with the development keys alone."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from mend_events.contracts.actors import Role
    from mend_events.contracts.catalog import hub
    from mend_testkit.devkeys import issue_token
    from mend_testkit.directory import apply_hub_events, hub_event

    _, _, runtime = consent
    key = ed25519.Ed25519PrivateKey.generate()
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    stream = hub.agency_stream("agency-a")
    await apply_hub_events(runtime, [
        hub_event(hub.AgencyOnboarded(agency_id="agency-a", name="A", sign_in=hub.SignIn.LOCAL),
                  stream),
        hub_event(hub.AgencyKeyAdded(agency_id="agency-a", kid="k1", public_key_pem=pem), stream),
        hub_event(hub.StaffEnrolled(agency_id="agency-a", person_id=COORD,
                                    role=Role.COORDINATOR), hub.staff_stream(COORD)),
    ])  # fmt: skip
    schema = ["--schema", f"consent={runtime.schema}"]

    async def erase(token: str, person: str) -> tuple[int, str]:
        code, _, err = await run_mend("erase", person, "--basis", "data_subject_request",
                                      "--token", token, *schema)  # fmt: skip
        return code, err

    # A development key of an agency the hub publishes keys for: refused, as at the service.
    dev = issue_token("agency-a", "coordinator", COORD)
    code, err = await erase(dev, HP2)
    assert code == 2 and "keys" in err, err
    # Suspended: refused at once.
    await apply_hub_events(runtime, [hub_event(
        hub.AgencySuspended(agency_id="agency-a", reason=hub.SuspensionReason.UNDER_REVIEW),
        stream)])  # fmt: skip
    signed = issue_token("agency-a", "coordinator", COORD, kid="k1", private_key=key)
    code, err = await erase(signed, HP2)
    assert code == 2 and "suspended" in err, err
    await apply_hub_events(runtime, [hub_event(hub.AgencyReinstated(agency_id="agency-a"),
                                               stream)])  # fmt: skip
    # The hub-signed token of the agency's coordinator, verified by its kid: admitted.
    code, err = await erase(signed, HP2)
    assert code == 0, err
    assert len(await erasures(runtime)) == 1
