"""The circle's rules, pure: each rule, each refusal (nothing emitted), idempotency, the halt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from mend_circles import commands as c
from mend_circles.domain import CircleState, MeetingStatus, Standing, decider
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog import circles as ev
from mend_events.contracts.envelope import Metadata
from mend_events.errors import Conflict, Forbidden, MendError, NotFound, Rejected

AGENCY = "north-rj"
FAC = Actor(id="prac-fac001", role=Role.PRACTITIONER, agency=AGENCY)
OTHER_PRAC = Actor(id="prac-other1", role=Role.PRACTITIONER, agency=AGENCY)
HP1 = Actor(id="hp-aaaa01", role=Role.HARMED_PERSON, agency=AGENCY)
HP2 = Actor(id="hp-bbbb02", role=Role.HARMED_PERSON, agency=AGENCY)
RP1 = Actor(id="rp-cccc03", role=Role.RESPONSIBLE_PERSON, agency=AGENCY)
SYS = Actor(id="svc-circles", role=Role.SYSTEM, agency=AGENCY)
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
CASES = {HP1.id: "case-00000001", HP2.id: "case-00000002", RP1.id: "case-00000003"}


class Circle:
    def __init__(self, kind: ev.CircleKind = ev.CircleKind.SURVIVORS) -> None:
        self.state: CircleState = decider.initial("circle-0001aaaa")
        self.do(c.FormCircle(kind=kind), FAC)

    def do(self, command: object, actor: Actor, at: datetime = T0) -> list:
        ctx = CommandContext(actor=actor, now=at, correlation_id=uuid4())
        events = decider.decide(self.state, command, ctx)
        meta = Metadata(actor.id, actor.role, actor.agency, ctx.correlation_id, None, at)
        for e in events:
            self.state = decider.evolve(self.state, e, meta)
        return events

    def refused(self, command: object, actor: Actor) -> MendError:
        before = self.state
        with pytest.raises(MendError) as info:
            self.do(command, actor)
        assert self.state == before
        return info.value

    def invite(self, who: Actor, agency: str = AGENCY) -> list:
        cmd = c.InviteMember(
            person_id=who.id, case_id=CASES[who.id], person_role=who.role, case_agency=agency
        )
        return self.do(cmd, FAC)

    def join(self, who: Actor, *, grant: bool = True, ack: bool = False, alias: str | None = None):
        cmd = c.JoinCircle(grant_id=uuid4() if grant else None, acknowledgement_stands=ack,
                           alias=alias)  # fmt: skip
        return self.do(cmd, who)


def test_a_practitioner_forms_a_circle_and_facilitates_it() -> None:
    circle = Circle()
    assert circle.state.facilitator_id == FAC.id and circle.state.agency == AGENCY
    assert circle.do(c.FormCircle(kind=ev.CircleKind.SURVIVORS), FAC) == []  # a retry
    assert isinstance(circle.refused(c.FormCircle(kind=ev.CircleKind.BLENDED), FAC), Conflict)
    fresh = decider.initial("circle-0002bbbb")
    ctx = CommandContext(actor=HP1, now=T0, correlation_id=uuid4())
    with pytest.raises(Forbidden):
        decider.decide(fresh, c.FormCircle(kind=ev.CircleKind.SURVIVORS), ctx)


def test_invitations_fit_the_kind_the_agency_and_seat_people_in_order() -> None:
    circle = Circle()
    [first] = circle.invite(HP1)
    [second] = circle.invite(HP2)
    assert (first.seat, second.seat) == (1, 2)
    assert circle.invite(HP1) == []  # invited already
    assert isinstance(circle.refused(_invite(RP1), FAC), Rejected)  # not a survivors' circle
    assert isinstance(circle.refused(_invite(HP1, agency="south-rj"), FAC), Forbidden)
    assert isinstance(circle.refused(_invite(HP2), OTHER_PRAC), Forbidden)  # not the facilitator


def _invite(who: Actor, agency: str = AGENCY) -> c.InviteMember:
    return c.InviteMember(
        person_id=who.id, case_id=CASES[who.id], person_role=who.role, case_agency=agency
    )


def test_joining_is_the_persons_own_act_and_needs_their_consent() -> None:
    circle = Circle()
    circle.invite(HP1)
    err = circle.refused(c.JoinCircle(grant_id=None), HP1)
    assert isinstance(err, Rejected) and err.field == "consent"
    assert isinstance(circle.refused(c.JoinCircle(grant_id=uuid4()), HP2), NotFound)  # no invite
    [joined] = circle.join(HP1, alias="Robin")
    assert isinstance(joined, ev.MemberJoined) and joined.person_id == HP1.id
    assert circle.state.members[HP1.id].standing is Standing.ACTIVE
    assert circle.join(HP1) == []  # in already


def test_a_responsible_person_joins_only_while_their_acknowledgement_stands() -> None:
    circle = Circle(ev.CircleKind.BLENDED)
    circle.invite(HP1)
    circle.invite(RP1)
    err = circle.refused(c.JoinCircle(grant_id=uuid4(), acknowledgement_stands=False), RP1)
    assert err.field == "acknowledgement"
    assert circle.join(RP1, ack=True)
    assert circle.join(HP1)


def test_a_withdrawal_halts_participation_once_naming_its_cause() -> None:
    circle = Circle()
    circle.invite(HP1)
    [joined] = circle.join(HP1)
    cause = uuid4()
    halt = c.HaltParticipation(person_id=HP1.id, cause=ev.HaltCause.CONSENT_WITHDRAWN,
                               cause_event_id=cause, grant_ids=(joined.grant_id,))  # fmt: skip
    [halted] = circle.do(halt, SYS)
    assert halted.cause_event_id == cause and halted.grant_id == joined.grant_id
    assert circle.state.members[HP1.id].standing is Standing.HALTED
    assert circle.do(halt, SYS) == []  # once
    again = c.HaltParticipation(person_id=HP1.id, cause=ev.HaltCause.CONSENT_LAPSED,
                                cause_event_id=uuid4(), grant_ids=(joined.grant_id,))  # fmt: skip
    assert circle.do(again, SYS) == []
    # back only through a new invitation and every gate, in the same seat
    assert isinstance(circle.refused(c.JoinCircle(grant_id=uuid4()), HP1), Rejected)
    [invited] = circle.invite(HP1)
    assert invited.seat == 1
    assert circle.join(HP1)


def test_another_grant_ending_halts_nothing() -> None:
    circle = Circle()
    circle.invite(HP1)
    circle.join(HP1)
    halt = c.HaltParticipation(person_id=HP1.id, cause=ev.HaltCause.CONSENT_WITHDRAWN,
                               cause_event_id=uuid4(), grant_ids=(uuid4(),))  # fmt: skip
    assert circle.do(halt, SYS) == []


def test_a_member_leaves_at_their_word_or_relayed_and_no_one_else_can_make_them() -> None:
    circle = Circle()
    for who in (HP1, HP2):
        circle.invite(who)
        circle.join(who)
    assert isinstance(circle.refused(c.LeaveCircle(person_id=HP1.id), HP2), NotFound)
    assert circle.do(c.LeaveCircle(person_id=HP1.id), HP1)
    assert circle.do(c.LeaveCircle(person_id=HP1.id), HP1) == []
    assert circle.do(c.LeaveCircle(person_id=HP2.id), FAC)  # relayed


def test_anyone_in_the_circle_halts_a_meeting_and_it_never_resumes() -> None:
    circle = Circle()
    circle.invite(HP1)
    circle.join(HP1)
    circle.invite(HP2)  # invited, not in
    sid = uuid4()
    starts = T0 + timedelta(days=3)
    assert circle.do(c.ScheduleSession(session_id=sid, starts_at=starts), FAC)
    assert circle.do(c.ScheduleSession(session_id=sid, starts_at=starts), FAC) == []
    past = c.ScheduleSession(session_id=uuid4(), starts_at=T0 - timedelta(days=1))
    assert circle.refused(past, FAC).field == "starts_at"
    assert isinstance(circle.refused(c.HaltSession(session_id=sid), HP2), Forbidden)
    assert circle.do(c.HaltSession(session_id=sid), HP1)
    assert circle.state.meetings[sid].status is MeetingStatus.HALTED
    assert circle.refused(c.HoldSession(session_id=sid), FAC).field == "session_id"
    other = uuid4()
    circle.do(c.ScheduleSession(session_id=other, starts_at=starts), FAC)
    [held] = circle.do(c.HoldSession(session_id=other), FAC)
    assert held.attended == (1,)


def test_a_closed_circle_takes_nothing_more() -> None:
    circle = Circle()
    sid = uuid4()
    circle.do(c.ScheduleSession(session_id=sid, starts_at=T0 + timedelta(days=1)), FAC)
    assert circle.do(c.CloseCircle(), FAC)
    assert circle.do(c.CloseCircle(), FAC) == []
    assert circle.state.meetings[sid].status is MeetingStatus.CANCELLED
    assert isinstance(circle.refused(_invite(HP1), FAC), Rejected)
