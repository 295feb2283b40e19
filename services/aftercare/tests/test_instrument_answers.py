"""Outcome instruments through the running service (issue 21): each answer set only under the
research consent of the person it is about (read from the consent projection, never from the
request), by the person themself or their practitioner, the agency's reoffending follow-up by a
practitioner only; whole, valid, and never overwritten."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from bus_helpers import wait_until
from mend_aftercare import commands as c
from mend_aftercare.domain import decider
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.errors import Forbidden, Rejected

from .test_api import CASE, HP, PRAC, RP, consent_to, parts, world  # noqa: F401 (fixtures)

SURVIVOR = {"safety": 6, "fear": 4, "wellbeing": 5, "satisfaction": 8}
JOURNEY = {"acknowledges_harm": 4, "understands_impact": 3, "takes_responsibility": 4,
           "committed_to_desist": 5, "support_engaged": 3}  # fmt: skip
FOLLOW_UP = {"known_reoffence": "none_known", "source": "probation_or_prison"}


def _body(instrument: str, point: str, about: str, answers: dict) -> dict:
    return {"instrument": instrument, "point": point, "about_id": about, "answers": answers}


async def test_answers_under_each_persons_own_research_consent(world, token):  # noqa: F811
    sessions, consent, aftercare = world
    client = aftercare.client
    hp, rp = token("harmed_person", HP), token("responsible_person", RP)
    prac = token("practitioner", PRAC)
    await sessions.open_case()
    await consent_to(consent, token, "take_part", RP)

    async def known() -> bool:
        state, _ = await aftercare.service.commands.load(CASE)
        async with aftercare.runtime.pool.acquire() as conn:
            rp_role = await aftercare.service.consent.role_of(conn, CASE, RP)
        return await aftercare.service.harmed_person(CASE, state) == HP and rp_role is not None

    await wait_until(known)
    url = f"/cases/{CASE}/aftercare/instrument-answers"
    survivor = _body("survivor-outcomes@1", "baseline", HP, SURVIVOR)

    # No research consent yet: refused, and a body cannot claim it.
    r = await client.post(url, json=survivor, headers=hp)
    assert r.status_code == 422 and r.json()["field"] == "research_consent"
    r = await client.post(url, json={**survivor, "research_consent": True}, headers=hp)
    assert r.status_code == 422
    await consent_to(consent, token, "outcome_research", HP)
    await wait_until(lambda: aftercare.service.consent_in_force(CASE, HP, "outcome_research"))
    r = await client.post(url, json=survivor, headers=hp)
    assert r.status_code == 201, r.text
    [event] = r.json()["events"]
    assert event["type"] == "InstrumentAnswered"
    assert (await client.post(url, json=survivor, headers=prac)).status_code == 200  # the same
    changed = _body("survivor-outcomes@1", "baseline", HP, {**SURVIVOR, "fear": 9})
    r = await client.post(url, json=changed, headers=hp)
    assert r.status_code == 422 and r.json()["field"] == "point"  # never overwritten

    # A whole, valid set; errors name the item and the kind, never the value sent.
    r = await client.post(url, json=_body("survivor-outcomes@1", "m1", HP,
                                          {**SURVIVOR, "safety": 77}), headers=hp)  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "answers.safety"
    assert "77" not in r.text
    r = await client.post(url, json=_body("survivor-outcomes@1", "m1", RP, SURVIVOR), headers=prac)
    assert r.status_code == 422 and r.json()["field"] == "about_id"
    r = await client.post(url, json=_body("survivor-outcomes@9", "m1", HP, SURVIVOR), headers=hp)
    assert r.status_code == 422 and r.json()["field"] == "instrument"

    # The responsible person's own journey: their own consent, not hers.
    journey = _body("accountability-journey@1", "baseline", RP, JOURNEY)
    r = await client.post(url, json=journey, headers=rp)
    assert r.status_code == 422 and r.json()["field"] == "research_consent"
    await consent_to(consent, token, "outcome_research", RP)
    await wait_until(lambda: aftercare.service.consent_in_force(CASE, RP, "outcome_research"))
    assert (await client.post(url, json=journey, headers=hp)).status_code == 403  # not hers
    assert (await client.post(url, json=journey, headers=rp)).status_code == 201

    # The agency's follow-up about him: a practitioner's record, never his own.
    follow_up = _body("reoffending-followup@1", "m6", RP, FOLLOW_UP)
    assert (await client.post(url, json=follow_up, headers=rp)).status_code == 403
    r = await client.post(url, json=follow_up, headers=prac)
    assert r.status_code == 201, r.text

    state, _ = await aftercare.service.commands.load(CASE)
    assert set(state.instrument_answers) == {
        ("survivor-outcomes@1", "baseline", HP),
        ("accountability-journey@1", "baseline", RP),
        ("reoffending-followup@1", "m6", RP),
    }


@pytest.mark.parametrize(
    ("actor", "role", "about_role", "consent", "refusal"),
    [
        (HP, Role.HARMED_PERSON, "harmed_person", False, Rejected),  # no research consent
        (RP, Role.RESPONSIBLE_PERSON, "harmed_person", True, Forbidden),  # not his answers
        (HP, Role.HARMED_PERSON, "responsible_person", True, Rejected),  # not about her
    ],
)
def test_the_domain_takes_role_and_consent_from_the_application_layer(
    actor, role, about_role, consent, refusal
) -> None:
    ctx = CommandContext(Actor(id=actor, role=role, agency="agency-a"), datetime.now(UTC), uuid4())
    command = c.AnswerInstrument(instrument="survivor-outcomes@1", point="m6", about_id=HP,
                                 answers=SURVIVOR, about_role=about_role,
                                 research_consent=consent)  # fmt: skip
    with pytest.raises(refusal):
        decider.decide(decider.initial(CASE), command, ctx)
