"""A community team conference through the aftercare API, on the real database and broker, with
the consent service running for real on the same topics: scheduled only under the harmed
person's participation consent, a volunteer taking part once she agreed, meetings whose minutes
are sealed under her key (and read by a member only for a meeting they attended), actions that
become a commitment and a check-in caused by the action, and her withdrawal cancelling every
conference still to meet, once, naming the withdrawal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from bus_helpers import wait_until
from mend_aftercare.app import build
from mend_aftercare.reactions import Reactions
from mend_aftercare.read_models import ConsentFacts
from mend_consent.app import build as build_consent
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.sessions import CaseClosed, CloseReason, HaltCause, SessionHalted
from mend_events.security.cases import CaseDirectory
from mend_testkit.directory import allocate, allocate_volunteer, open_case
from mend_testkit.fixtures import running_service
from mend_testkit.samples import consent_body, consent_given, delivered

CASE, HP, RP, PRAC = "case-0001aa", "hp-alice01", "rp-bob0001", "prac-carol1"
COORD, AUDITOR, VOL, SUP = "coord-erin1", "aud-dave01", "vol-frank01", "sup-grace01"
A, B = "conf-aaaa01", "conf-bbbb02"
MINUTES_1, MINUTES_2 = "first review: safety plan held", "second review: housing found"


async def test_a_conference_journey_from_scheduling_to_her_withdrawal(
    platform, unique, topic_prefix, token
) -> None:
    async with (
        running_service(build_consent, "consent", platform, unique, topic_prefix,
                        lapse_interval=3600) as (consent, _capp, consent_rt),
        running_service(build, "aftercare", platform, unique, topic_prefix,
                        send_updates=False) as (client, app, runtime),
    ):  # fmt: skip
        for rt in (consent_rt, runtime):
            await open_case(rt, CASE, HP, members={RP: "responsible_person"})
        await allocate([consent_rt, runtime], CASE, PRAC)
        # The hub's allocation of the volunteer as a conference member (vetting and training
        # current): without it her agreement alone lets no volunteer in.
        await allocate_volunteer([runtime], CASE, VOL, "conference_member")
        hp, prac, coord = (
            token("harmed_person", HP),
            token("practitioner", PRAC),
            token("coordinator", COORD),
        )
        vol, auditor = token("volunteer", VOL), token("auditor", AUDITOR)
        base = f"/cases/{CASE}/conferences"
        soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        body = {"conference_id": A, "starts_at": soon, "zone": "Europe/London",
                "cadence": "monthly"}  # fmt: skip

        # No conference without her participation consent.
        r = await client.post(base, json=body, headers=coord)
        assert r.status_code == 422 and "value" not in r.json(), r.text
        r = await consent.post(f"/cases/{CASE}/consents", json=consent_body(HP), headers=hp)
        assert r.status_code == 201, r.text
        service = app.state.service
        await wait_until(lambda: service.consent_in_force(CASE, HP, "take_part"))
        assert (await client.post(base, json=body, headers=vol)).status_code == 403
        assert (await client.post(base, json=body, headers=coord)).status_code == 201
        other = {**body, "conference_id": B, "cadence": "once"}
        assert (await client.post(base, json=other, headers=prac)).status_code == 201

        # A volunteer takes part only once she agreed.
        for member, role in ((VOL, "volunteer"), (SUP, "supporter")):
            invite = {"member_id": member, "member_role": role}
            r = await client.post(f"{base}/{A}/members", json=invite, headers=coord)
            assert r.status_code == 201, r.text
        assert (await client.get(f"{base}/{A}", headers=vol)).status_code == 403
        agree = {"answer": "agreed"}
        answer = f"{base}/{A}/members/{VOL}/answer"
        assert (await client.post(answer, json=agree, headers=vol)).status_code == 403
        assert (await client.post(answer, json=agree, headers=hp)).status_code == 201
        seen = (await client.get(f"{base}/{A}", headers=vol)).json()
        assert [m["member_id"] for m in seen["members"]] == [VOL]

        # Two meetings; the volunteer attended the second only.
        now = datetime.now(UTC).isoformat()
        first = {"held_at": now, "attendee_ids": [HP], "minutes": MINUTES_1, "needs": ["housing"]}
        second = {"held_at": now, "attendee_ids": [HP, VOL], "minutes": MINUTES_2}
        for meeting in (first, second):
            r = await client.post(f"{base}/{A}/meetings", json=meeting, headers=prac)
            assert r.status_code == 201, r.text
        assert (await client.post(f"{base}/{A}/meetings", json=first, headers=coord)).status_code \
            == 403  # fmt: skip
        raw = await runtime.pool.fetch(
            f"SELECT data::text FROM {runtime.schema}.events WHERE event_type = 'ConferenceHeld'"
        )
        assert len(raw) == 2 and all(json.loads(r[0])["minutes"]["ct"] for r in raw)
        assert not any(MINUTES_1 in r[0] or MINUTES_2 in r[0] for r in raw)  # sealed (R8)
        meetings = (await client.get(f"{base}/{A}", headers=vol)).json()["meetings"]
        assert [m.get("minutes") for m in meetings] == [None, MINUTES_2]
        assert [m["attendee_ids"] for m in meetings] == [[], [VOL]]  # nobody else's part
        theirs = (await client.get(f"{base}/{A}", headers=hp)).json()["meetings"]
        assert [m["minutes"] for m in theirs] == [MINUTES_1, MINUTES_2]
        for headers in (coord, auditor):
            codes = (await client.get(f"{base}/{A}", headers=headers)).json()["meetings"]
            assert all("minutes" not in m for m in codes)
        # Another conference of the case: not the volunteer's.
        assert (await client.get(f"{base}/{B}", headers=vol)).status_code == 403
        listed = (await client.get(base, headers=vol)).json()["conferences"]
        assert [c["conference_id"] for c in listed] == [A]
        stranger = token("volunteer", "vol-stranger1")
        assert (await client.get(base, headers=stranger)).status_code == 403
        assert (await client.get(base, headers=token("coordinator", COORD, "agency-b"))
                ).status_code == 403  # fmt: skip

        # Actions: a commitment of the responsible person, a check-in in his plan.
        r = await client.post(
            f"/cases/{CASE}/aftercare/desistance-plan", headers=token("responsible_person", RP)
        )
        assert r.status_code == 201, r.text
        commitment = {"action_id": str(uuid4()), "kind": "commitment", "assignee_id": RP,
                      "commitment_code": "reparation"}  # fmt: skip
        due = (datetime.now(UTC) + timedelta(days=14)).isoformat()
        check_in = {"action_id": str(uuid4()), "kind": "check_in", "assignee_id": VOL,
                    "participant_id": RP, "participant_role": "responsible_person",
                    "due_at": due}  # fmt: skip
        for action in (commitment, check_in):
            r = await client.post(f"{base}/{A}/actions", json=action, headers=prac)
            assert r.status_code == 201, r.text
            again = await client.post(f"{base}/{A}/actions", json=action, headers=prac)
            assert again.status_code == 200
        # One she has not taken up after-care for is refused before it is recorded.
        refused = {**check_in, "action_id": str(uuid4()), "participant_id": HP,
                   "participant_role": "harmed_person"}  # fmt: skip
        r = await client.post(f"{base}/{A}/actions", json=refused, headers=prac)
        assert r.status_code == 422 and r.json()["field"] == "participant_id"
        stream = await runtime.store.read_stream(CASE)
        agreed = {e.data["action_id"]: e.event_id for e in stream
                  if e.event_type == "ConferenceActionAgreed"}  # fmt: skip
        assert set(agreed) == {commitment["action_id"], check_in["action_id"]}
        items = {e.event_type: e for e in stream
                 if e.event_type in ("CommitmentRecorded", "CheckInScheduled")}  # fmt: skip
        assert items["CommitmentRecorded"].metadata.causation_id == UUID(
            str(agreed[commitment["action_id"]])
        )
        assert items["CommitmentRecorded"].data["owner_id"] == RP
        assert items["CheckInScheduled"].metadata.causation_id == agreed[check_in["action_id"]]
        assert [a["action_id"] for a in
                (await client.get(f"{base}/{A}", headers=vol)).json()["actions"]] == [
            check_in["action_id"]
        ]  # fmt: skip

        # Her withdrawal cancels both conferences still to meet, once, naming it.
        r = await consent.post(
            f"/cases/{CASE}/withdrawals", json={"participant_id": HP, "scope": "take_part"},
            headers=hp,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        withdrawal = r.json()["events"][0]["event_id"]

        async def cancelled() -> list:
            events = await runtime.store.read_stream(CASE)
            return [e for e in events if e.event_type == "ConferenceCancelled"]

        await wait_until(lambda: _two(cancelled()))
        done = await cancelled()
        assert sorted(e.data["conference_id"] for e in done) == [A, B]
        assert {(e.data["cause"], e.data["cause_event_id"]) for e in done} == {
            ("consent_withdrawn", withdrawal)
        }
        assert all(e.metadata.causation_id == UUID(withdrawal) for e in done)
        mine = (await client.get(base, headers=hp)).json()["conferences"]
        assert {c["cancelled"] for c in mine} == {"consent_withdrawn"}
        assert all("cause_event_id" not in json.dumps(c) for c in mine)
        r = await client.post(base, json={**body, "conference_id": "conf-cccc03"}, headers=coord)
        assert r.status_code == 422


async def _two(found) -> bool:
    return len(await found) >= 2


async def test_a_halt_and_the_case_closing_cancel_what_is_still_to_meet_once(
    platform, unique, topic_prefix, token
) -> None:
    """The sessions reactions' routing on the real database (the broker's part is the journey
    above's): a halt cancels both conferences still to meet, naming the halt; its redelivery
    writes nothing; the case's closing cancels one scheduled after it."""
    async with running_service(build, "aftercare", platform, unique, topic_prefix,
                               send_updates=False) as (client, app, runtime):  # fmt: skip
        await open_case(runtime, CASE, HP)
        await allocate([runtime], CASE, PRAC)
        service, schema = app.state.service, runtime.schema
        reactions = Reactions(lambda: service, CaseDirectory(schema), ConsentFacts(schema))

        async def react(handler, event) -> None:
            async with runtime.pool.acquire() as conn, conn.transaction():
                await handler(conn, event)

        await react(reactions.on_consent, delivered("consent", CASE, consent_given(HP)))
        soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        coord = token("coordinator", COORD)

        async def schedule(conference_id: str) -> None:
            body = {"conference_id": conference_id, "starts_at": soon, "zone": "UTC"}
            r = await client.post(f"/cases/{CASE}/conferences", json=body, headers=coord)
            assert r.status_code == 201, r.text

        await schedule(A)
        await schedule(B)
        halted = SessionHalted(session_id="sess-0001", halted_by_id=RP,
                               halted_by_role=Role.RESPONSIBLE_PERSON,
                               cause=HaltCause.PARTICIPANT_HALT)  # fmt: skip
        halt = delivered("sessions", CASE, halted, actor=RP, role=Role.RESPONSIBLE_PERSON)
        await react(reactions.on_sessions, halt)
        await react(reactions.on_sessions, halt)  # redelivered
        await schedule("conf-cccc03")
        closed = delivered("sessions", CASE, CaseClosed(reason=CloseReason.HARMED_PERSON_DECISION))
        await react(reactions.on_sessions, closed)
        cancels = [(e.data["conference_id"], e.data["cause"], e.data["cause_event_id"])
                   for e in await runtime.store.read_stream(CASE)
                   if e.event_type == "ConferenceCancelled"]  # fmt: skip
        assert cancels == [
            (A, "session_halted", str(halt.event_id)),
            (B, "session_halted", str(halt.event_id)),
            ("conf-cccc03", "case_closed", str(closed.event_id)),
        ]


async def test_an_action_missing_what_its_kind_needs_is_refused_naming_the_field(
    platform, unique, topic_prefix, token
) -> None:
    """Found by the fuzz run: a check-in action without its participant's role answered 500,
    as the check-in it would become was built from unchecked fields before the action's own
    rules were applied. Now the field is named (422) and nothing is written."""
    async with running_service(build, "aftercare", platform, unique, topic_prefix,
                               send_updates=False) as (client, _app, runtime):  # fmt: skip
        await open_case(runtime, CASE, HP)
        await allocate([runtime], CASE, PRAC)
        before = len(await runtime.store.read_stream(CASE))
        body = {"action_id": "e3e70682-c209-1cac-a29f-6fbed82c07cd", "kind": "check_in",
                "assignee_id": PRAC, "participant_id": HP, "participant_role": None,
                "due_at": (datetime.now(UTC) + timedelta(days=7)).isoformat()}  # fmt: skip
        r = await client.post(
            f"/cases/{CASE}/conferences/conf-0000/actions", json=body,
            headers=token("practitioner", PRAC),
        )  # fmt: skip
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "participant_role" and "None" not in r.json()["reason"]
        assert len(await runtime.store.read_stream(CASE)) == before
