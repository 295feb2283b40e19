"""The journeys a practitioner would recognise, and the checks of an audit history against
them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mend_testkit.journeys.case import new_case
from mend_testkit.journeys.driver import Driver
from mend_testkit.journeys.people import CONFERENCE, F2F, LETTER, UNSENT_LETTER, Journey

if TYPE_CHECKING:
    from mend_audit.reader import AuditReader
    from mend_audit.verify_report import Report

# --- the journeys -----------------------------------------------------------------------------


async def complete_journey(driver: Driver) -> Journey:
    """(a) The whole way: opening, facilitator choice, consents, acknowledgement, assessment,
    preparation, a letter exchange, a face-to-face meeting with an agreement, after-care,
    closure."""
    case = new_case(driver, "complete", "the complete journey, from opening to closure")
    c = case.cast
    await case.up_to_contact(
        [LETTER, F2F], extra_hp_scopes=["progress_updates", "outcome_research"]
    )
    await case.schedule("letters", LETTER, [c.harmed, c.responsible])
    await case.start("letters")
    await case.complete("letters")
    await case.wait_offer("completed:letters", "session_completed")
    await case.schedule("meeting", F2F, [c.harmed, c.responsible])
    await case.start("meeting")
    today = datetime.now(UTC).date()
    await case.agree(
        "meeting",
        [
            (c.responsible, "therapeutic_treatment", today + timedelta(days=180)),
            (c.responsible, "no_contact", None),
        ],
    )
    await case.complete("meeting")
    await case.wait_offer("completed:meeting", "session_completed")
    await case.wait_commitments(2)
    await case.wait_reassessment_due("agreement", "case_stage_changed")
    await case.accept_aftercare()
    await case.check_in()
    await case.refer(c.harmed, "counselling")
    await case.take_desistance_plan()
    await case.refer(c.responsible, "circles_of_support_and_accountability")
    await case.measure("satisfaction", "m1", 8)
    await case.close_aftercare("completed")
    await case.close("harmed_person_ready")
    return case.journey()


async def withdrawal_while_scheduled(driver: Driver) -> Journey:
    """(b) The harmed person withdraws consent to a face-to-face meeting while it is scheduled:
    the meeting is halted by the withdrawal, and after-care is offered once for the two (one
    cause chain, one offer)."""
    case = new_case(
        driver, "withdrawal", "the harmed person withdraws consent while a meeting is scheduled"
    )
    c = case.cast
    await case.up_to_contact([F2F], min_gap_days=14)
    await case.schedule("meeting", F2F, [c.harmed, c.responsible], at=timedelta(days=3))
    await case.withdraw(c.harmed, f"contact:{F2F}", reason="I do not want to meet him")
    await case.wait_halted("meeting", "withdrawn", "consent_withdrawn")
    await case.wait_offer("withdrawn", "consent_withdrawn", ("halted:meeting", "session_halted"))
    await case.accept_aftercare()
    return case.journey()


async def halted_conference(driver: Driver) -> Journey:
    """(c) The harmed person halts a running conference with a supporter; after-care is
    offered and a reassessment falls due before anything is scheduled again."""
    case = new_case(driver, "conference", "the harmed person halts a running conference")
    c = case.cast
    await case.up_to_contact([CONFERENCE], responsible=False, supporter=True)
    await case.schedule("conference", CONFERENCE, [c.harmed, c.supporter])
    await case.start("conference")
    await case.halt("conference", c.harmed)
    await case.wait_offer("halted:conference", "session_halted")
    await case.wait_reassessment_due("halted:conference", "session_halted_for_safety")
    return case.journey()


async def withdrawal_during_preparation(driver: Driver) -> Journey:
    """(d) The harmed person withdraws everything after their preparation session, before any
    contact: nothing was scheduled, so nothing is halted, and after-care is offered."""
    case = new_case(driver, "preparation", "the harmed person withdraws during preparation")
    await case.up_to_preparation([F2F])
    await case.prepare(case.cast.harmed)
    await case.withdraw(case.cast.harmed)
    await case.wait_offer("withdrawn", "consent_withdrawn")
    return case.journey()


async def risk_flag_in_meeting(driver: Driver) -> Journey:
    """(e) A practitioner raises a severe risk flag (coercive control) during a face-to-face
    meeting: the meeting is halted by the flag, after-care is offered, reassessment is due."""
    case = new_case(driver, "risk-flag", "a severe risk flag during a face-to-face meeting")
    c = case.cast
    await case.up_to_contact([F2F])
    await case.schedule("meeting", F2F, [c.harmed, c.responsible])
    await case.start("meeting")
    await case.raise_flag("severe", "coercive_control", affects=c.responsible)
    await case.wait_halted("meeting", "flag_raised", "risk_flag")
    await case.wait_offer("halted:meeting", "session_halted")
    await case.wait_reassessment_due("halted:meeting", "session_halted_for_safety")
    return case.journey()


async def acknowledgement_withdrawn(driver: Driver) -> Journey:
    """(f) The responsible person withdraws their acknowledgement: the meeting that depended on
    it is halted; the harmed person's unsent letter, which does not involve them, stays."""
    case = new_case(
        driver, "acknowledgement", "the responsible person withdraws their acknowledgement"
    )
    c = case.cast
    await case.up_to_contact([F2F, UNSENT_LETTER])
    await case.schedule("meeting", F2F, [c.harmed, c.responsible], at=timedelta(days=3))
    await case.schedule("unsent letter", UNSENT_LETTER, [c.harmed], at=timedelta(days=4))
    await case.withdraw_acknowledgement("retracted")
    await case.wait_halted("meeting", "acknowledgement_withdrawn", "acknowledgement_withdrawn")
    await case.wait_offer("halted:meeting", "session_halted")
    if not await case.still_scheduled("unsent letter"):
        raise AssertionError("the unsent letter did not depend on the acknowledgement")
    return case.journey()


async def consent_lapsed(driver: Driver, expires_in: timedelta = timedelta(seconds=5)) -> Journey:
    """(g) The harmed person's consent to a face-to-face meeting was given until a date that
    passes before the meeting: the consent service records the lapse, and the meeting is halted
    by it (cause consent_lapsed)."""
    case = new_case(driver, "lapse", "consent lapses before a scheduled meeting")
    c = case.cast
    await case.up_to_contact([F2F], hp_contact_expires_in=expires_in)
    await case.schedule("meeting", F2F, [c.harmed, c.responsible], at=timedelta(days=2))
    await case.wait_lapsed(c.harmed, f"contact:{F2F}")
    await case.wait_halted("meeting", "lapsed", "consent_lapsed")
    await case.wait_offer("halted:meeting", "session_halted")
    return case.journey()


# --- checking a history against a journey ---------------------------------------------------


def causation_problems(journey: Journey, doc: Mapping[str, Any]) -> list[str]:
    """What the audit history (`AuditReader.history` / `mend audit history --json`) lacks:
    a key event of the journey missing, or a consequence not linked to its cause. [] when
    every step is there and every consequence names the event that caused it."""
    timeline = doc["timeline"]
    present = {item["event_id"] for item in timeline}
    problems = [
        f"{name} (event {event_id}) is not in the history"
        for name, event_id in journey.events.items()
        if str(event_id) not in present
    ]
    for effect in journey.effects:
        cause = str(journey.events[effect.cause])
        found = [
            item
            for item in timeline
            if item["type"] == effect.event_type
            and item["service"] == effect.service
            and (item.get("caused_by") or {}).get("event_id") == cause
            and all(item["facts"].get(k) == v for k, v in effect.facts.items())
            and (effect.event_id is None or item["event_id"] == str(effect.event_id))
        ]
        if not found:
            problems.append(
                f"{effect.name}: no {effect.event_type} in {effect.service} caused by "
                f"{effect.cause} ({cause}) with {dict(effect.facts)}"
            )
    return problems


async def verify_published(reader: AuditReader, within: float = 30.0) -> Report:
    """`mend audit verify`, once the relays have published what a journey just wrote: a report
    that holds but still counts events not published yet (past a relay's checkpoint) is asked
    again until `within` seconds have passed. A report with a problem is returned at once."""
    deadline = time.monotonic() + within
    while True:
        report = await reader.verify()
        waiting = report.ok and any(s.unpublished for s in report.services)
        if not waiting or time.monotonic() > deadline:
            return report
        await asyncio.sleep(0.2)
