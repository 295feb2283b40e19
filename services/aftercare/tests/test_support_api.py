"""Support without a case through the aftercare API on the real database and broker: a
practitioner opens a plan for someone who enquired anonymously (their reference), schedules a
check-in and signposts them; the agency's coordinator sees it in the list; the person reads
their own plan and stops it at once, after which nothing more is scheduled; its events go out
on aftercare's topic like a case's, keyed by the plan's stream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from mend_aftercare.app import build
from mend_events.contracts.catalog.aftercare import support_stream
from mend_testkit.fixtures import running_service

PRAC, COORD, REF = "prac-0001aa", "coord-0001aa", "enq-5c0ffee0aa11bb22"


async def test_support_for_an_anonymous_enquirer_opened_signposted_and_stopped_by_them(
    platform, unique, topic_prefix, token
) -> None:
    async with running_service(build, "aftercare", platform, unique, topic_prefix,
                               send_updates=False) as (client, _app, runtime):  # fmt: skip
        prac, person = token("practitioner", PRAC), token("harmed_person", REF)
        assert (await client.get(f"/support/{REF}", headers=prac)).status_code == 404
        r = await client.post(f"/support/{REF}/plan", json={"subject": "enquiry"}, headers=prac)
        assert r.status_code == 201, r.text
        check_in = str(uuid4())
        due = (datetime.now(UTC) + timedelta(days=3)).isoformat()
        body = {"check_in_id": check_in, "due_at": due}
        r = await client.post(f"/support/{REF}/check-ins", json=body, headers=prac)
        assert r.status_code == 201, r.text
        referral = {
            "referral_id": str(uuid4()),
            "kind": "counselling",
            "owner_id": PRAC,
            "due_on": (datetime.now(UTC) + timedelta(days=7)).date().isoformat(),
        }
        r = await client.post(f"/support/{REF}/referrals", json=referral, headers=prac)
        assert r.status_code == 201, r.text

        listed = (await client.get("/support", headers=token("coordinator", COORD))).json()
        assert [p["subject_id"] for p in listed["plans"]] == [REF]
        assert (await client.get("/support", headers=person)).status_code == 403
        other = await client.get(f"/support/{REF}", headers=token("practitioner", PRAC, "agency-b"))
        assert other.status_code in (403, 404)
        stranger = token("harmed_person", "hp-0009zz")
        assert (await client.get(f"/support/{REF}", headers=stranger)).status_code == 403
        stop = {"reason": "withdrew"}
        assert (await client.post(f"/support/{REF}/closure", json=stop,
                                  headers=stranger)).status_code == 403  # fmt: skip

        mine = (await client.get(f"/support/{REF}", headers=person)).json()
        assert mine["status"] == "accepted" and [c["check_in_id"] for c in mine["check_ins"]] == [
            check_in
        ]
        r = await client.post(f"/support/{REF}/closure", json=stop, headers=person)
        assert r.status_code == 201, r.text
        mine = (await client.get(f"/support/{REF}", headers=person)).json()
        assert mine["status"] == "closed" and mine["check_ins"][0]["outcome"] == "ended"
        again = {"check_in_id": str(uuid4()), "due_at": due}
        r = await client.post(f"/support/{REF}/check-ins", json=again, headers=prac)
        assert r.status_code == 422 and "value" not in r.json()
        events = await runtime.store.read_stream(support_stream("agency-a", REF))
        assert [e.event_type for e in events] == [
            "SupportPlanOpened", "CheckInScheduled", "ReferralMade", "AftercareClosed",
        ]  # fmt: skip
        assert events[-1].metadata.actor_id == REF  # their own stop
