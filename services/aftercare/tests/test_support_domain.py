"""Support without a case, pure: the same decisions as a case's after-care on a stream of its
own (`support:<agency>:<subject>`). Opened at the person's request (by them, or a practitioner
recording it), check-ins and referrals only while it is open, stopped at once by the person,
never escalated, and never mixed up with a case's after-care."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from mend_aftercare import commands as c
from mend_aftercare.domain import decider
from mend_aftercare.domain.state import AftercareStatus, CheckInOutcome
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import aftercare as ev
from mend_events.errors import Forbidden, Rejected

from .test_domain import NOW, PRAC, Case, ctx

ENQ = "enq-0a1b2c3d4e5f6a7b"
SUPPORTED = ev.PlanRole.SUPPORTED_PERSON


def _plan() -> Case:
    plan = Case()
    plan.state = decider.initial(ev.support_stream("agency-north", ENQ))
    return plan


def test_a_support_plan_is_opened_at_the_persons_request_and_stopped_by_them_at_once():
    plan = _plan()
    with pytest.raises(Forbidden):  # nobody else opens one for them
        plan.run(c.OpenSupportPlan(subject_id=ENQ, subject=ev.SupportSubject.ENQUIRY),
                 ctx("hp-someone", role=Role.HARMED_PERSON))  # fmt: skip
    opened = plan.run(c.OpenSupportPlan(subject_id=ENQ, subject=ev.SupportSubject.ENQUIRY),
                      ctx(PRAC))  # fmt: skip
    assert [e.event_type for e in opened] == ["SupportPlanOpened"]
    assert plan.state.status is AftercareStatus.ACCEPTED and plan.state.supported_id == ENQ
    check_in = uuid4()
    schedule = c.ScheduleCheckIn(
        check_in_id=check_in,
        participant_id=ENQ,
        participant_role=SUPPORTED,
        due_at=NOW + timedelta(days=2),
    )
    assert [e.event_type for e in plan.run(schedule, ctx(PRAC))] == ["CheckInScheduled"]
    refer = c.MakeReferral(referral_id=uuid4(), participant_id=ENQ, participant_role=SUPPORTED,
                           kind=ev.ReferralKind.COUNSELLING, owner_id=PRAC,
                           due_on=NOW.date() + timedelta(days=7))  # fmt: skip
    assert [e.event_type for e in plan.run(refer, ctx(PRAC))] == ["ReferralMade"]
    # Someone else in the plan's role: refused.
    with pytest.raises(Rejected):
        plan.run(schedule.model_copy(update={"check_in_id": uuid4(), "participant_id": "hp-x1y2"}),
                 ctx(PRAC))  # fmt: skip
    # The person stops it (signed in as the enquiry's own account): at once, the open
    # check-in ends (never "missed"), and nothing more is scheduled.
    stop = c.CloseAftercare(reason=ev.ClosureReason.WITHDREW)
    with pytest.raises(Forbidden):
        plan.run(stop, ctx("hp-someone", role=Role.HARMED_PERSON))
    assert [e.event_type for e in plan.run(stop, ctx(ENQ, role=Role.RESPONSIBLE_PERSON))] == [
        "AftercareClosed"
    ]
    assert plan.run(stop, ctx(ENQ, role=Role.RESPONSIBLE_PERSON)) == []
    assert plan.state.check_ins[check_in].outcome is CheckInOutcome.ENDED
    with pytest.raises(Rejected):
        plan.run(schedule.model_copy(update={"check_in_id": uuid4()}), ctx(PRAC))
    # Asked again later, it opens again.
    again = plan.run(c.OpenSupportPlan(subject_id=ENQ, subject=ev.SupportSubject.ENQUIRY),
                     ctx(ENQ, role=Role.HARMED_PERSON))  # fmt: skip
    assert [e.event_type for e in again] == ["SupportPlanOpened"]


def test_a_practitioner_records_the_persons_stop_and_a_case_is_never_a_support_plan():
    plan = _plan()
    plan.run(c.OpenSupportPlan(subject_id=ENQ, subject=ev.SupportSubject.ENQUIRY), ctx(PRAC))
    closed = plan.run(c.CloseAftercare(reason=ev.ClosureReason.WITHDREW), ctx(PRAC))
    assert [e.event_type for e in closed] == ["AftercareClosed"]
    case = Case()  # a case's after-care: the supported role has no place in it
    schedule = c.ScheduleCheckIn(
        check_in_id=uuid4(),
        participant_id=ENQ,
        participant_role=SUPPORTED,
        due_at=NOW + timedelta(days=1),
    )
    with pytest.raises(Rejected):
        case.run(schedule, ctx(PRAC))
