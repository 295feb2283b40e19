"""Letters end to end on the real broker and database: the consent service and the sessions
service side by side, risk from its store and relay. A letter is drafted, returned with a
reason, revised, approved and delivered; the reply follows the same path; a withdrawal through
the consent service halts the letter session and stops each undelivered letter once, naming the
withdrawal. The letters' text is nowhere in clear in the sessions service's events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from bus_helpers import wait_until
from mend_events.contracts.catalog.risk import PermittedForm
from mend_testkit.directory import allocate
from mend_testkit.samples import consent_body

from tests.e2e.test_halts import (  # noqa: F401 - the fixtures this module uses
    FAC,
    HP,
    RP,
    Platform,
    consent,
    risk,
    sessions,
    sessions_schema,
    world,
)

CASE, SESSION, LETTER = "case-letters01", "sess-0001", "letter"
FIRST = "Canary-Letter-7f3a: why did you choose me, and what did you know?"
SECOND = "Canary-Letter-9b21: I want you to hear what it did to my family."
REPLY = "Canary-Reply-4c88: I have no excuse and I am answering your question."
NOTE = "Canary-Note-2d19: please leave out the name of the street."


async def ready_letter_exchange(w: Platform) -> None:
    """A letter exchange between the two parties, every gate met, started by the facilitator."""
    s, c = w.sessions[0], w.consent[0]
    await w.register_practitioners()
    opening = {"harm_category": "sexual_assault", "justice_stage": "none"}
    await w.ok(s, f"/cases/{CASE}/open", {**opening, "route": "self_referral"}, w.hp())
    await w.ok(s, f"/cases/{CASE}/facilitator", {"practitioner_id": FAC}, w.hp())
    await allocate([w.sessions[2], w.consent[2]], CASE, FAC)
    prefs = {"responsible_person_takes_part": True, "invited": [RP]}
    await w.ok(s, f"/cases/{CASE}/preferences", prefs, w.hp())
    await w.ok(
        s, f"/cases/{CASE}/participants", {"person_id": RP, "role": "responsible_person"}, w.fac()
    )

    async def rp_known() -> bool:
        entry = await w.consent[1].state.service.case(CASE, wait=0)
        return entry is not None and RP in entry.members

    await wait_until(rp_known, timeout=60)
    for person, role, headers in (
        (HP, "harmed_person", w.hp()),
        (RP, "responsible_person", w.rp()),
    ):
        await w.ok(
            s, f"/cases/{CASE}/preparations", {"participant": {"id": person, "role": role}}, w.fac()
        )
        for scope in ("take_part", "contact:letter"):
            await w.ok(c, f"/cases/{CASE}/consents", consent_body(person, scope), headers)
    ack = {"responsible_person_id": RP, "basis": "written_statement"}
    await w.ok(c, f"/cases/{CASE}/acknowledgements", ack, w.fac())
    await w.risk.assess(CASE, PermittedForm(form="letter", with_responsible_person=True))
    await wait_until(lambda: w.risk_seen(CASE))
    session = {
        "session_id": SESSION, "form": "letter", "facilitator_id": FAC,
        "participants": [{"id": HP, "role": "harmed_person"},
                         {"id": RP, "role": "responsible_person"}],
        "scheduled_for": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
    }  # fmt: skip
    await w.ok(s, f"/cases/{CASE}/sessions", session, w.hp())
    await w.ok(s, f"/cases/{CASE}/sessions/{SESSION}/start", None, w.fac())


async def write(w: Platform, letter: str, text: str, author: dict, reply_to: Any = None) -> None:
    s = w.sessions[0]
    body = {"letter_id": letter, "session_id": SESSION, "content": text, "reply_to": reply_to}
    await w.ok(s, f"/cases/{CASE}/letters", body, author)
    await w.ok(s, f"/cases/{CASE}/letters/{letter}/submit", None, author)


async def test_a_letter_is_reviewed_delivered_answered_and_a_withdrawal_stops_the_rest(
    world,  # noqa: F811 - the fixture imported above
):
    w, s = world, world.sessions[0]
    await ready_letter_exchange(w)
    first = f"{LETTER}-0001"
    await write(w, first, "a first draft", w.hp())
    # Read before delivery: the recipient cannot open it; the reviewer can.
    r = await s.get(f"/cases/{CASE}/letters/{first}", headers=w.rp())
    assert r.status_code in (403, 404), r.text
    assert (await s.get(f"/cases/{CASE}/letters/{first}", headers=w.fac())).json()["content"] == (
        "a first draft"
    )
    back = {"reason": "identifying_details", "note": NOTE}
    await w.ok(s, f"/cases/{CASE}/letters/{first}/return", back, w.fac())
    r = await s.post(f"/cases/{CASE}/letters/{first}/deliver", headers=w.hp())
    assert r.status_code == 422 and r.json()["field"] == "letter_id", r.text
    await w.ok(s, f"/cases/{CASE}/letters/{first}/revise", {"content": FIRST}, w.hp())
    await w.ok(s, f"/cases/{CASE}/letters/{first}/submit", None, w.hp())
    await w.ok(s, f"/cases/{CASE}/letters/{first}/approve", None, w.fac())
    await w.ok(s, f"/cases/{CASE}/letters/{first}/deliver", None, w.hp())
    got = (await s.get(f"/cases/{CASE}/letters/{first}", headers=w.rp())).json()
    assert got["content"] == FIRST and got["status"] == "delivered"
    assert "return_note" not in got and "returned_for" not in got  # the author's, not his
    mine = (await s.get(f"/cases/{CASE}/letters/{first}", headers=w.hp())).json()
    assert mine["return_note"] == NOTE and mine["drafts"] == 2

    # The reply follows the same path; a second letter waits approved; neither is delivered.
    await write(w, f"{LETTER}-0002", REPLY, w.rp(), reply_to=first)
    await write(w, f"{LETTER}-0003", SECOND, w.hp())
    await w.ok(s, f"/cases/{CASE}/letters/{LETTER}-0003/approve", None, w.fac())

    withdrawal = UUID(
        (await w.ok(w.consent[0], f"/cases/{CASE}/withdrawals",
                    {"participant_id": HP, "scope": "contact:letter"}, w.hp()))["events"][0][
            "event_id"]
    )  # fmt: skip
    store = w.sessions[2].store

    async def stops() -> list:
        found = [e for e in await store.read_stream(CASE)
                 if e.event_type == "LetterDeliveryStopped"]  # fmt: skip
        return found if len(found) >= 2 else []

    found = await wait_until(stops, timeout=30)
    assert sorted(e.data["letter_id"] for e in found) == [f"{LETTER}-0002", f"{LETTER}-0003"]
    for stop in found:
        assert stop.data["cause"] == "consent_withdrawn"
        assert stop.data["cause_event_id"] == str(withdrawal)
        assert stop.metadata.causation_id == withdrawal
    r = await s.post(f"/cases/{CASE}/letters/{LETTER}-0003/deliver", headers=w.hp())
    assert r.status_code == 422, r.text
    listed = (await s.get(f"/cases/{CASE}/letters", headers=w.fac())).json()["letters"]
    assert [x["status"] for x in listed] == ["delivered", "stopped", "stopped"]
    assert listed[1]["stopped"]["cause_event_id"] == str(withdrawal)
    his = (await s.get(f"/cases/{CASE}/letters", headers=w.rp())).json()["letters"]
    assert [x["letter_id"] for x in his] == [first, f"{LETTER}-0002"]
    assert "stopped" not in his[1]  # what stopped it is not his to know

    # Once, and nothing in clear: the events hold the text only sealed.
    all_events = await store.read_stream(CASE)
    assert len([e for e in all_events if e.event_type == "LetterDeliveryStopped"]) == 2
    async with w.sessions[2].pool.acquire() as conn:
        raw = await conn.fetch(f"SELECT data::text AS d FROM {store.schema}.events")
    for text in (FIRST, SECOND, REPLY, NOTE, "a first draft"):
        assert not any(text in row["d"] for row in raw), "letter text stored in clear"
