"""Participants' accounts: a practitioner's one-time activation code, redeemed once by the
participant, who then signs in for themselves and only themselves."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import jwt
import pyotp
from mend_events.contracts.actors import Role
from mend_testkit.directory import open_case


async def _invite(hub, agency: str, person: str, role: str = "harmed_person"):
    await hub.onboard(agency)
    if role in {"harmed_person", "responsible_person"}:
        await hub.allocated(agency, "prac-0001aa", person, role)  # whom they may invite
    headers = await hub.caller(Role.PRACTITIONER, "prac-0001aa", agency)
    body = {"person_id": person, "role": role}
    return await hub.client.post("/invitations", json=body, headers=headers)


async def test_an_invitation_is_redeemed_once_and_gives_the_participant_their_own_token(
    hub, agency
):
    await hub.ready(agency)
    invited = await _invite(hub, agency, "hp-77ab12cd")
    assert invited.status_code == 201, invited.text
    code = invited.json()["activation_code"]

    assert (await hub.redeem(code, "river")).status_code == 201
    again = await hub.redeem(code, "another-name")
    assert again.status_code == 401 and "activation code" in again.json()["reason"]

    signed = await hub.sign_in(agency, "river")
    assert signed.status_code == 200, signed.text
    claims = jwt.decode(signed.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "hp-77ab12cd" and claims["role"] == "harmed_person"
    assert claims["iss"] == agency and claims["aud"] == "mend"
    assert claims["exp"] - claims["iat"] == 300

    types = [e.event_type for e in await hub.runtime.store.read_stream("account:hp-77ab12cd")]
    assert types == ["ParticipantInvited", "AccountOpened", "CredentialsChanged"]


async def test_an_expired_code_is_refused(hub, agency):
    code = (await _invite(hub, agency, "hp-77ab12cd")).json()["activation_code"]
    hub.clock.advance(hours=73)
    assert (await hub.redeem(code, "river")).status_code == 401


async def test_only_practitioners_invite_and_only_participant_roles(hub, agency):
    assert (await _invite(hub, agency, "hp-77ab12cd", "coordinator")).status_code == 422
    body = {"person_id": "hp-77ab12cd", "role": "harmed_person"}
    for role, who in [
        (Role.COORDINATOR, "coord-0001aa"),
        (Role.AUDITOR, "aud-0001aa"),
        (Role.HARMED_PERSON, "hp-0001aa"),
    ]:
        headers = await hub.caller(role, who, agency)
        r = await hub.client.post("/invitations", json=body, headers=headers)
        assert r.status_code == 403, role


async def test_a_passphrase_has_a_minimum_length_and_no_composition_rules(hub, agency):
    code = (await _invite(hub, agency, "hp-77ab12cd")).json()["activation_code"]
    short = await hub.redeem(code, "river", "short")
    assert short.status_code == 422 and short.json()["field"] == "password"
    assert "short" not in short.text
    assert (await hub.redeem(code, "river", "all lower case words here")).status_code == 201


async def test_a_taken_login_name_is_a_conflict_naming_the_field_only(hub, agency):
    first = (await _invite(hub, agency, "hp-77ab12cd")).json()["activation_code"]
    second = (await _invite(hub, agency, "rp-77ab12cd", "responsible_person")).json()
    assert (await hub.redeem(first, "River")).status_code == 201
    taken = await hub.redeem(second["activation_code"], "river")
    assert taken.status_code == 409 and taken.json()["field"] == "username"
    assert "river" not in taken.text.lower().replace("username", "")


async def test_a_participant_may_add_a_second_factor_to_their_own_account_only(hub, agency):
    await hub.ready(agency)
    for person, name in (("hp-77ab12cd", "river"), ("rp-77ab12cd", "stone")):
        role = "harmed_person" if person.startswith("hp") else "responsible_person"
        code = (await _invite(hub, agency, person, role)).json()["activation_code"]
        assert (await hub.redeem(code, name)).status_code == 201
    token = (await hub.sign_in(agency, "river")).json()["access_token"]
    mine = {"Authorization": f"Bearer {token}"}

    other = await hub.client.post("/accounts/rp-77ab12cd/totp", json={}, headers=mine)
    assert other.status_code == 403
    assert (await hub.client.post("/accounts/hp-77ab12cd/totp", json={})).status_code == 401

    r = await hub.client.post("/accounts/hp-77ab12cd/totp", json={}, headers=mine)
    assert r.status_code == 201, r.text
    secret = parse_qs(urlparse(r.json()["provisioning_uri"]).query)["secret"][0]
    confirmed = await hub.code(r.json()["challenge"], pyotp.TOTP(secret).at(hub.clock()))
    assert confirmed.status_code == 200, confirmed.text

    # from now on the passphrase alone is not enough
    again = await hub.sign_in(agency, "river")
    assert again.json()["status"] == "second_factor_required"
    assert "access_token" not in again.json()


async def test_a_new_code_ends_the_one_before(hub, agency):
    first = (await _invite(hub, agency, "hp-77ab12cd")).json()["activation_code"]
    second = (await _invite(hub, agency, "hp-77ab12cd")).json()["activation_code"]
    assert (await hub.redeem(first, "river")).status_code == 401
    assert (await hub.redeem(second, "river")).status_code == 201


async def test_a_practitioner_invites_only_participants_of_cases_allocated_to_them(hub, agency):
    """Not any pseudonymous id of the agency: a participant of a case (the case directory) that
    the hub has allocated to the inviting practitioner now."""
    case, hp, rp, stranger = "case-inv00001", "hp-inv00001", "rp-inv00001", "hp-inv00009"
    await hub.ready(agency)
    await hub.enrol(agency, "coord-inv001", Role.COORDINATOR)
    coordinator = await hub.minted(agency, "coord-inv001", Role.COORDINATOR)
    await hub.trusted(agency, "coord-inv001")
    for prac in ("prac-inv001", "prac-inv002"):
        r = await hub.client.post(f"/agencies/{agency}/staff", headers=coordinator,
                                  json={"person_id": prac, "role": "practitioner"})  # fmt: skip
        assert r.status_code == 201, r.text
    await open_case(hub.runtime, case, hp, agency=agency, members={rp: "responsible_person"})
    body = {"practitioner_id": "prac-inv001"}
    r = await hub.client.post(f"/cases/{case}/allocations", json=body, headers=coordinator)
    assert r.status_code == 201, r.text
    allocated = await hub.minted(agency, "prac-inv001", Role.PRACTITIONER)
    other = await hub.minted(agency, "prac-inv002", Role.PRACTITIONER)

    async def invite(headers, person: str, role: str) -> int:
        body = {"person_id": person, "role": role}
        return (await hub.client.post("/invitations", json=body, headers=headers)).status_code

    assert await invite(allocated, hp, "harmed_person") == 201
    assert await invite(allocated, rp, "responsible_person") == 201
    assert await invite(allocated, stranger, "harmed_person") == 403  # in no case of theirs
    assert await invite(other, hp, "harmed_person") == 403  # the case is not allocated to them
    invited = [e.event_type for e in await hub.runtime.store.read_stream(f"account:{stranger}")]
    assert invited == []  # a refusal writes nothing
