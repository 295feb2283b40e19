"""The HTTP edge every service shares, probed as a careless client or an attacker would (issue
14, items 4, 9 and 10): each service on the real database and broker, through its own API.
Whatever a client sends is answered with a 4xx naming the field and the kind of error, never a
500; an idempotency key is bound to the request it first came with."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from mend_aftercare.app import build as build_aftercare
from mend_consent.app import build as build_consent
from mend_risk.app import build as build_risk
from mend_sessions.app import build as build_sessions
from mend_testkit.directory import allocate, open_case
from mend_testkit.fixtures import running_service
from mend_testkit.refusals import clear_4xx
from mend_testkit.samples import consent_body

CASE, HP, PRAC = "case-0001aa", "hp-alice01", "prac-carol1"
BUILDS = {
    "consent": (build_consent, {"lapse_interval": 3600}),
    "risk": (build_risk, {}),
    "sessions": (build_sessions, {}),
    "aftercare": (build_aftercare, {}),
}
# One route of each service with a case id in its path, read by staff.
CASE_READS = {
    "consent": "/cases/{case}/consent-history",
    "risk": "/cases/{case}/risk",
    "sessions": "/cases/{case}",
    "aftercare": "/cases/{case}/aftercare",
}


async def _running(name, platform, unique, topic_prefix):
    build, options = BUILDS[name]
    return running_service(build, name, platform, unique, topic_prefix, **options)


async def _known_cases(name: str, running) -> None:
    """The cases the tests address, as the sessions service's CaseOpened would make them known
    (the sessions service opens its own), and PRAC allocated to them by the hub."""
    for case in (CASE, "case-0002bb"):
        if name != "sessions":
            await open_case(running[2], case, HP)
        await allocate(running[2], case, PRAC)


@pytest.fixture
async def consent(platform, unique, topic_prefix):
    async with await _running("consent", platform, unique, topic_prefix) as running:
        await _known_cases("consent", running)
        yield running


@pytest.fixture
async def risk(platform, unique, topic_prefix):
    async with await _running("risk", platform, unique, topic_prefix) as running:
        await _known_cases("risk", running)
        yield running


@pytest.fixture
async def sessions(platform, unique, topic_prefix):
    async with await _running("sessions", platform, unique, topic_prefix) as running:
        await _known_cases("sessions", running)
        yield running


@pytest.fixture(params=list(BUILDS))
async def each_service(request, platform, unique, topic_prefix):
    async with await _running(request.param, platform, unique, topic_prefix) as running:
        await _known_cases(request.param, running)
        yield request.param, running


async def stream(runtime, case: str = CASE) -> list[tuple[str, str]]:
    async with runtime.pool.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT event_type, data::text FROM {runtime.schema}.events WHERE stream_id = $1 "
            f"ORDER BY stream_version",
            case,
        )
    return [(r["event_type"], r["data"]) for r in rows]


# --- item 4: an idempotency key is bound to its request ------------------------------------


async def test_an_idempotency_key_reused_for_another_request_is_refused(risk, token):
    client, _, runtime = risk
    prac = token("practitioner", PRAC)
    key = {**prac, "Idempotency-Key": "flag-1"}
    low = {"flag_id": str(uuid4()), "severity": "low", "category": "other"}
    r = await client.post(f"/cases/{CASE}/flags", json=low, headers=key)
    assert r.status_code == 201, r.text
    first = r.json()
    written = await stream(runtime)
    # The same request again (a client's retry): the first result, nothing written twice.
    again = await client.post(f"/cases/{CASE}/flags", json=low, headers=key)
    assert again.status_code in (200, 201), again.text
    assert again.json()["version"] == first["version"]
    assert await stream(runtime) == written
    # A severe flag under the same key is another request: refused, never silently dropped.
    severe = {**low, "flag_id": str(uuid4()), "severity": "severe"}
    r = await client.post(f"/cases/{CASE}/flags", json=severe, headers=key)
    clear_4xx(r, (409, 422), "Idempotency-Key")
    assert "severe" not in r.text
    # Another route, or another case, under the same key: refused as well.
    resolve = {"flag_id": low["flag_id"], "reason": "raised_in_error"}
    r = await client.post(f"/cases/{CASE}/flag-resolutions", json=resolve, headers=key)
    clear_4xx(r, (409, 422), "Idempotency-Key")
    other_case = token("practitioner", PRAC)
    r = await client.post(
        "/cases/case-0002bb/flags", json=low, headers={**other_case, "Idempotency-Key": "flag-1"}
    )
    clear_4xx(r, (409, 422), "Idempotency-Key")
    assert await stream(runtime) == written
    # The severe flag goes through under its own key.
    r = await client.post(
        f"/cases/{CASE}/flags", json=severe, headers={**prac, "Idempotency-Key": "flag-2"}
    )
    assert r.status_code == 201, r.text
    assert len(await stream(runtime)) > len(written)


# --- item 9: no 500 for anything a client can send -----------------------------------------


async def test_consent_state_refuses_unknown_scopes_and_nul_bytes(consent, token):
    client, _, _ = consent
    prac = token("practitioner", PRAC)
    path = f"/cases/{CASE}/consent-state"
    for scope in ("", "carrier_pigeon", "contact:"):
        r = await client.get(path, params={"participant_id": HP, "scope": scope}, headers=prac)
        clear_4xx(r, 422, "scope")
    r = await client.get(
        path, params={"participant_id": "hp-a\x00lice", "scope": "take_part"}, headers=prac
    )
    clear_4xx(r, 422, "participant_id")
    r = await client.get(
        f"/cases/{CASE}/consents", params={"participant_id": "hp-\x00"}, headers=prac
    )
    clear_4xx(r, 422, "participant_id")
    r = await client.get(path, params={"participant_id": HP, "scope": "take_part"}, headers=prac)
    assert r.status_code == 200, r.text


async def test_nul_bytes_in_a_body_are_refused(consent, token):
    client, _, runtime = consent
    hp = token("harmed_person", HP)
    give = consent_body(HP)
    r = await client.post(f"/cases/{CASE}/consents", json=give, headers=hp)
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/cases/{CASE}/withdrawals",
        json={"participant_id": HP, "scope": "take_part", "reason": "no\x00more"},
        headers=hp,
    )
    clear_4xx(r, 422, "reason")
    assert len(await stream(runtime)) == 1


async def test_malformed_session_ids_are_a_4xx_on_every_session_route(sessions, token):
    client, _, _ = sessions
    fac = token("practitioner", PRAC)
    agreement = {
        "items": [{"owner_id": "rp-bob0001", "commitment": "reparation"}],
        "consented_by": [HP],
    }
    for session in ("None", "x", "sess-a%20b", "SESS-0001", "sess-" + "a" * 80):
        for action, body in (
            ("start", None),
            ("complete", None),
            ("halt", None),
            ("agreement", agreement),
        ):
            r = await client.post(
                f"/cases/{CASE}/sessions/{session}/{action}", json=body, headers=fac
            )
            clear_4xx(r, 422, "session_id")


async def test_every_service_checks_the_case_id_by_one_pattern(each_service, token):
    name, (client, app, _) = each_service
    prac = token("practitioner", PRAC)
    for bad in ("C", "None", "case-%00abc", "CASE-0001", "case-" + "a" * 80):
        r = await client.get(CASE_READS[name].format(case=bad), headers=prac)
        clear_4xx(r, 422, "case_id")
    # ... and says so in its OpenAPI: every case_id and session_id carries the same pattern.
    patterns = set()
    for operations in app.openapi()["paths"].values():
        for operation in operations.values():
            for p in operation.get("parameters", []):
                if p["name"] in ("case_id", "session_id"):
                    patterns.add((p["name"], p["schema"].get("pattern")))
    from mend_events.web.http import CASE_ID_PATTERN, SESSION_ID_PATTERN

    expected = {("case_id", CASE_ID_PATTERN)}
    if name == "sessions":
        expected.add(("session_id", SESSION_ID_PATTERN))
    assert patterns == expected


# --- item 10: input checks a careful API has -----------------------------------------------


async def test_bodies_are_limited_parsed_strictly_and_never_a_500(each_service, token):
    name, (client, _, runtime) = each_service
    prac = token("practitioner", PRAC)
    path = {
        "consent": f"/cases/{CASE}/consents",
        "risk": f"/cases/{CASE}/flags",
        "sessions": f"/cases/{CASE}/open",
        "aftercare": f"/cases/{CASE}/aftercare/referrals",
    }[name]
    headers = {**prac, "Content-Type": "application/json"}
    # 10 MB: refused from its announced length, before it is read.
    big = b'{"a": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    clear_4xx(await client.post(path, content=big, headers=headers), 413, "body")
    chunks_read = 0

    async def streamed():  # no Content-Length: refused once the stream passes the limit
        nonlocal chunks_read
        for _ in range(160):
            chunks_read += 1
            yield b"x" * 65536

    clear_4xx(await client.post(path, content=streamed(), headers=headers), 413, "body")
    assert chunks_read < 160, chunks_read  # the rest was never read
    # Malformed JSON, invalid UTF-8, a NUL escape, duplicate keys: each a 4xx naming the body.
    for raw in (
        b'{"severity": ',
        b'{"severity": "\xff\xfe"}',
        b"\xef\xbb\xbf{}",
        b'{"severity": "low", "severity": "severe"}',
        b'{"reason": "a\\u0000b"}',
        b"[" * 5000 + b"]" * 5000,
    ):
        r = await client.post(path, content=raw, headers=headers)
        body = clear_4xx(r, (400, 422), None)
        assert body["field"], body
    dup = await client.post(
        path, content=b'{"severity": "low", "severity": "severe"}', headers=headers
    )
    assert dup.json()["field"] == "severity" and "duplicate" in dup.json()["reason"]
    assert await stream(runtime) == []


async def test_numbers_are_not_times_and_dates_stay_in_a_sane_window(risk, consent, token):
    client, _, _ = risk
    prac = token("practitioner", PRAC)
    for at in ("0.5", "0", "1700000000", "2026-01-01T00:00:00", "1850-01-01T00:00:00Z"):
        r = await client.get(
            f"/cases/{CASE}/permits", params={"form": "face_to_face", "at": at}, headers=prac
        )
        clear_4xx(r, 422, "at")
    now = datetime.now(UTC)
    r = await client.get(
        f"/cases/{CASE}/permits",
        params={"form": "face_to_face", "at": now.isoformat()},
        headers=prac,
    )
    assert r.status_code == 200, r.text

    client, _, runtime = consent
    hp = token("harmed_person", HP)
    give = consent_body(HP)
    for expires in ("9999-12-31T00:00:00Z", 4102444800, 0.5, "4102444800"):
        r = await client.post(
            f"/cases/{CASE}/consents", json={**give, "expires_at": expires}, headers=hp
        )
        clear_4xx(r, 422, "expires_at")
    r = await client.get(f"/cases/{CASE}/consent-history", params={"as_of": "0.5"}, headers=hp)
    clear_4xx(r, 422, "as_of")
    assert await stream(runtime) == []
    soon = (now + timedelta(days=365)).isoformat()
    r = await client.post(f"/cases/{CASE}/consents", json={**give, "expires_at": soon}, headers=hp)
    assert r.status_code == 201, r.text


async def test_far_session_and_agreement_dates_are_refused(sessions, token):
    client, _, _ = sessions
    fac = token("practitioner", PRAC)
    body = {
        "session_id": "sess-0001",
        "form": "face_to_face",
        "participants": [{"id": HP, "role": "harmed_person"}],
        "facilitator_id": PRAC,
        "scheduled_for": "9999-01-01T10:00:00Z",
    }
    r = await client.post(f"/cases/{CASE}/sessions", json=body, headers=fac)
    clear_4xx(r, 422, "scheduled_for")
    for due_on in ("9999-01-01", 20300101, "1899-12-31"):
        agreement = {
            "items": [{"owner_id": "rp-bob0001", "commitment": "reparation", "due_on": due_on}],
            "consented_by": [HP],
        }
        r = await client.post(
            f"/cases/{CASE}/sessions/sess-0001/agreement", json=agreement, headers=fac
        )
        clear_4xx(r, 422, "items.0.due_on")


async def test_every_status_a_route_answers_is_in_its_openapi(each_service):
    name, (_, app, _) = each_service
    doc = app.openapi()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            declared = set(operation["responses"])
            needed = {"401", "403", "404", "422", "503"}
            if method == "post":
                needed |= {"200", "201", "409", "413"}
            assert needed <= declared, (name, method, path, sorted(declared))
            error = operation["responses"]["422"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}, (path, error)
    assert set(doc["components"]["schemas"]["Error"]["required"]) >= {"field", "reason"}
    json.dumps(doc)  # the document itself is plain JSON
