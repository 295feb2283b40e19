"""Sign-in through the routes on the real database: password then TOTP, lockout, refresh."""

from __future__ import annotations

import pyotp
from mend_events.contracts.actors import Role


async def test_password_and_totp_give_tokens_and_a_code_is_used_once(hub, agency):
    await hub.ready(agency)
    secret, tokens = await hub.staff_member(agency, "prac-a1b2c3", "Sam.Example")
    assert tokens["expires_in"] == 300 and tokens["token_type"] == "Bearer"

    again = await hub.sign_in(agency, "sam.example ")  # compared case-folded and trimmed
    assert again.json()["status"] == "second_factor_required"
    replay = await hub.code(again.json()["challenge"], pyotp.TOTP(secret).at(hub.clock()))
    assert replay.status_code == 401
    assert replay.json()["reason"] == "invalid credentials"

    hub.clock.advance(seconds=30)
    fresh = await hub.code(again.json()["challenge"], pyotp.TOTP(secret).at(hub.clock()))
    assert fresh.status_code == 200, fresh.text


async def test_unknown_name_and_wrong_password_get_the_same_refusal(hub, agency):
    await hub.ready(agency)
    await hub.staff_member(agency, "prac-a1b2c3", "sam")
    unknown = await hub.sign_in(agency, "nobody-here")
    wrong = await hub.sign_in(agency, "sam", "not the password at all")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


async def test_five_wrong_passwords_lock_and_the_right_one_is_then_refused(hub, agency):
    await hub.ready(agency)
    await hub.staff_member(agency, "prac-a1b2c3", "sam")
    for _ in range(5):
        assert (await hub.sign_in(agency, "sam", "wrong password!")).status_code == 401
    locked = await hub.sign_in(agency, "sam")
    assert locked.status_code == 423
    assert locked.json()["error"] == "locked"

    coordinator = await hub.caller(Role.COORDINATOR, "coord-0001aa", agency)
    other = await hub.caller(Role.COORDINATOR, "coord-0001aa", "agency-b")
    path = "/accounts/prac-a1b2c3/unlock"
    assert (await hub.client.post(path, headers=other)).status_code == 403
    practitioner = await hub.caller(Role.PRACTITIONER, "prac-0009zz", agency)
    assert (await hub.client.post(path, headers=practitioner)).status_code == 403
    assert (await hub.client.post(path, headers=coordinator)).status_code == 200
    assert (await hub.sign_in(agency, "sam")).status_code == 200

    types = [e.event_type for e in await hub.runtime.store.read_stream("account:prac-a1b2c3")]
    assert types[-2:] == ["AccountLocked", "AccountUnlocked"]


async def test_a_lock_runs_out_after_its_period(hub, agency):
    await hub.ready(agency)
    await hub.staff_member(agency, "prac-a1b2c3", "sam")
    for _ in range(5):
        await hub.sign_in(agency, "sam", "wrong password!")
    assert (await hub.sign_in(agency, "sam")).status_code == 423
    hub.clock.advance(minutes=16)
    # the count starts afresh: one wrong password does not lock again
    assert (await hub.sign_in(agency, "sam", "wrong password!")).status_code == 401
    assert (await hub.sign_in(agency, "sam")).status_code == 200


async def test_wrong_codes_count_towards_the_lock(hub, agency):
    await hub.ready(agency)
    await hub.staff_member(agency, "prac-a1b2c3", "sam")
    challenge = (await hub.sign_in(agency, "sam")).json()["challenge"]
    for _ in range(5):
        assert (await hub.code(challenge, "000000")).status_code in (401, 423)
    assert (await hub.sign_in(agency, "sam")).status_code == 423


async def test_refresh_rotates_and_reuse_revokes_the_family(hub, agency):
    await hub.ready(agency)
    _, tokens = await hub.staff_member(agency, "prac-a1b2c3", "sam")
    first = tokens["refresh_token"]
    r1 = await hub.client.post("/token/refresh", json={"refresh_token": first})
    assert r1.status_code == 200
    second = r1.json()["refresh_token"]
    assert second != first

    reuse = await hub.client.post("/token/refresh", json={"refresh_token": first})
    assert reuse.status_code == 401
    # the reuse revoked the whole family: the newest token is refused too
    after = await hub.client.post("/token/refresh", json={"refresh_token": second})
    assert after.status_code == 401


async def test_refresh_expires_when_idle_and_sign_out_revokes(hub, agency):
    await hub.ready(agency)
    _, tokens = await hub.staff_member(agency, "prac-a1b2c3", "sam")
    hub.clock.advance(minutes=20)
    r = await hub.client.post("/token/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 200  # used within 30 minutes: the session goes on
    hub.clock.advance(minutes=31)
    idle = await hub.client.post(
        "/token/refresh", json={"refresh_token": r.json()["refresh_token"]}
    )
    assert idle.status_code == 401

    _, tokens = await hub.staff_member(agency, "prac-d4e5f6", "kim")
    out = await hub.client.post("/signout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204
    r = await hub.client.post("/token/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401


async def test_a_deactivated_person_or_suspended_agency_is_refused_at_once(hub, agency):
    await hub.ready(agency)
    _, tokens = await hub.staff_member(agency, "prac-a1b2c3", "sam")
    await hub.deactivate(agency, "prac-a1b2c3")
    r = await hub.client.post("/token/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401
    assert (await hub.sign_in(agency, "sam")).json().get("status") != "signed_in"

    _, tokens = await hub.staff_member(agency, "prac-d4e5f6", "kim")
    await hub.suspend(agency)
    r = await hub.client.post("/token/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401


async def test_staff_codes_only_from_their_own_coordinator(hub, agency):
    await hub.enrol(agency, "prac-a1b2c3")
    body = {"person_id": "prac-a1b2c3"}
    for role, who, where, status in [
        (Role.COORDINATOR, "coord-0001aa", "agency-b", 403),
        (Role.PRACTITIONER, "prac-0001aa", agency, 403),
        (Role.AUDITOR, "aud-0001aa", agency, 403),
        (Role.HARMED_PERSON, "hp-0001aa", agency, 403),
        (Role.COORDINATOR, "coord-0001aa", agency, 201),
    ]:
        headers = await hub.caller(role, who, where)
        r = await hub.client.post("/accounts", json=body, headers=headers)
        assert r.status_code == status, (role, where, r.text)
    missing = {"person_id": "prac-zzzz99"}
    headers = await hub.caller(Role.COORDINATOR, "coord-0001aa", agency)
    assert (await hub.client.post("/accounts", json=missing, headers=headers)).status_code == 404


async def test_the_password_is_rehashed_when_the_parameters_change(hub, agency):
    from mend_hub.signin.passwords import Passwords, hasher

    await hub.ready(agency)
    parts = hub.signin.parts
    parts.passwords = Passwords(hasher(time_cost=1, memory_cost=8 * 1024, parallelism=1))
    await hub.enrol(agency, "prac-a1b2c3")
    assert (await hub.redeem(await hub.staff_code(agency, "prac-a1b2c3"), "sam")).status_code == 201

    async def stored() -> str:
        async with parts.pool.acquire() as conn:
            return await conn.fetchval(
                f"SELECT password_hash FROM {parts.schema}.signin_accounts WHERE person_id = $1",
                "prac-a1b2c3",
            )

    assert "m=8192,t=1,p=1" in await stored()
    parts.passwords = Passwords()
    assert (await hub.sign_in(agency, "sam", hub.password)).status_code == 200
    assert "m=65536,t=3,p=4" in await stored()


async def test_the_hub_takes_its_own_tokens_until_the_person_is_deactivated(hub, agency):
    await hub.ready(agency)
    _, tokens = await hub.staff_member(agency, "prac-a1b2c3", "sam")
    mine = {"Authorization": f"Bearer {tokens['access_token']}"}
    await hub.allocated(agency, "prac-a1b2c3", "hp-77ab12cd", "harmed_person")
    body = {"person_id": "hp-77ab12cd", "role": "harmed_person"}
    assert (await hub.client.post("/invitations", json=body, headers=mine)).status_code == 201

    await hub.deactivate(agency, "prac-a1b2c3")
    body = {"person_id": "hp-88ab12cd", "role": "harmed_person"}
    r = await hub.client.post("/invitations", json=body, headers=mine)
    assert r.status_code == 401  # the access token has minutes left: refused all the same


async def test_a_reset_code_replaces_the_password_and_the_second_factor_and_ends_sessions(
    hub, agency
):
    await hub.ready(agency)
    _, tokens = await hub.staff_member(agency, "prac-a1b2c3", "sam")
    code = await hub.staff_code(agency, "prac-a1b2c3")  # a lost phone: the coordinator resets
    assert (await hub.redeem(code, "sam.new", "a brand new passphrase")).status_code == 201

    r = await hub.client.post("/token/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401
    assert (await hub.sign_in(agency, "sam")).status_code == 401
    again = await hub.sign_in(agency, "sam.new", "a brand new passphrase")
    assert again.json()["status"] == "enrol_second_factor"
    types = [e.event_type for e in await hub.runtime.store.read_stream("account:prac-a1b2c3")]
    assert types[-3:] == ["ActivationCodeIssued", "CredentialsChanged", "CredentialsChanged"]
