"""The practitioner's community team conferences page over the real hub, sessions and aftercare
services: refused while the harmed person's participation consent is not known to be in force
(the service's reason shown), then a conference scheduled, a volunteer invited (waiting for her
word, which she gives on her own page), a meeting recorded with its minutes shown back to the
practitioner, a commitment agreed, and the conference cancelled. Participants never reach the
practitioner's page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from mend_aftercare.reactions import Reactions
from mend_aftercare.read_models import ConsentFacts
from mend_events.security.cases import CaseDirectory
from mend_testkit.samples import consent_given, delivered
from mend_testkit.waiting import wait_until

from .accounts import open_and_allocate, staffed
from .conftest import csrf_of

A, COORD, PRAC, HP, CASE = "agency-a", "coord-aaaa01", "prac-0001aa", "hp-conf0001", "case-wconf01"
VOL, MINUTES = "vol-0001aa", "The housing referral came through."


async def test_a_conference_scheduled_held_and_cancelled_through_the_page(world):
    await staffed(world, A, COORD, (PRAC,))
    await open_and_allocate(world, A, CASE, HP, PRAC)
    runtime = world.aftercare_runtime
    prac = await world.signed_in_as("practitioner", PRAC)
    page = await prac.get(f"/cases/{CASE}/conferences")
    assert page.status_code == 200 and "No conferences yet." in page.text, page.text
    csrf = csrf_of(page.text)
    soon = datetime.now(UTC) + timedelta(minutes=10)
    form = {"day": soon.date().isoformat(), "time": soon.strftime("%H:%M"), "timezone": "UTC",
            "cadence": "monthly", "csrf_token": csrf}  # fmt: skip
    r = await prac.post(f"/cases/{CASE}/conferences", data=form)
    assert r.status_code == 422 and "consent to take part is not in force" in r.text, r.text

    # Her take_part consent, as the consent topic's subscription applies it (no consent
    # service in this world).
    schema = runtime.schema
    # A ConsentGiven only updates the consent facts: no service object is asked for.
    reactions = Reactions(lambda: None, CaseDirectory(schema), ConsentFacts(schema))
    async with runtime.pool.acquire() as conn, conn.transaction():
        await reactions.on_consent(conn, delivered("consent", CASE, consent_given(HP)))
    r = await prac.post(f"/cases/{CASE}/conferences", data=form)
    assert r.status_code == 303, r.text
    page = (await prac.get(f"/cases/{CASE}/conferences")).text
    assert "monthly" in page and "Next meeting:" in page
    conference = re.search(r'id="(conf-[0-9a-f]{12})"', page).group(1)
    base = f"/cases/{CASE}/conferences/{conference}"
    r = await prac.post(f"{base}/members", data={"member_id": VOL, "member_role": "volunteer",
                                                 "csrf_token": csrf})  # fmt: skip
    assert r.status_code == 303, r.text
    assert "waiting for the harmed person" in (await prac.get(f"/cases/{CASE}/conferences")).text
    # Her word, on her own page (once the web app's index knows her case).
    hp = await world.signed_in_as("harmed_person", HP)

    async def listed() -> str | None:
        r = await hp.get("/me/conferences")
        return r.text if conference in r.text else None

    mine = await wait_until(listed)
    assert "waiting for your word" in mine
    answer = {"case": CASE, "conference": conference, "member": VOL, "answer": "agreed"}
    r = await hp.post("/me/conferences/answer", data={**answer, "csrf_token": csrf_of(mine)})
    assert (r.status_code, r.headers.get("location")) == (303, "/me/conferences?done=agreed")
    assert "the harmed person agreed" in (await prac.get(f"/cases/{CASE}/conferences")).text
    # Her word given to her practitioner, who records it: a supporter she does not want there.
    sup = {"member_id": "sup-0001aa", "member_role": "supporter", "csrf_token": csrf}
    assert (await prac.post(f"{base}/members", data=sup)).status_code == 303
    r = await prac.post(f"{base}/members/sup-0001aa/answer",
                        data={"answer": "refused", "csrf_token": csrf})  # fmt: skip
    assert r.status_code == 303, r.text
    assert "the harmed person did not agree" in (
        await prac.get(f"/cases/{CASE}/conferences")).text  # fmt: skip
    stranger = await world.signed_in_as("harmed_person", "hp-stranger01")
    assert conference not in (await stranger.get("/me/conferences")).text
    r = await prac.post(
        f"{base}/meetings",
        data={"minutes": MINUTES, "attendees": HP, "needs": "housing", "csrf_token": csrf},
    )
    assert r.status_code == 303, r.text
    page = (await prac.get(f"/cases/{CASE}/conferences")).text
    assert "Meeting 1" in page and MINUTES in page
    r = await prac.post(f"{base}/actions", data={"assignee_id": "rp-0001aa",
                        "commitment_code": "reparation", "csrf_token": csrf})  # fmt: skip
    assert r.status_code == 303, r.text
    assert "commitment: reparation, by rp-0001aa" in (
        await prac.get(f"/cases/{CASE}/conferences")).text  # fmt: skip
    # A referral in her plan: refused, with the service's reason, while she has no after-care
    # (none was offered yet, so aftercare's plan rule does not know her as its person).
    referral = {
        "kind": "referral",
        "participant": f"{HP}:harmed_person",
        "assignee_id": VOL,
        "referral_kind": "counselling",
        "due_on": "2031-03-01",
        "csrf_token": csrf,
    }
    r = await prac.post(f"{base}/actions", data=referral)
    assert r.status_code == 422 and 'role="alert">this is not the case&#39;s harmed' in r.text
    r = await prac.post(f"{base}/cancel", data={"csrf_token": csrf})
    assert r.status_code == 303, r.text
    assert "Cancelled:" in (await prac.get(f"/cases/{CASE}/conferences")).text
    assert (await hp.get(f"/cases/{CASE}/conferences")).status_code == 403
