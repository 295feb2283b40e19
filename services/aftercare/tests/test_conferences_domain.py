"""Community team conferences, pure: scheduling under her participation consent, invitations
she agrees to, meetings and their attendees, actions, cancellation once, and the series' local
time across daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from mend_aftercare import conference_commands as cc
from mend_aftercare.conferences import follow_up, item_id_for
from mend_aftercare.domain.conferences import (
    ConferencesState,
    conference_decider,
    meeting_at,
    next_meeting,
)
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog import aftercare as ev
from mend_events.errors import Forbidden, NotFound, Rejected
from pydantic import ValidationError

CASE, CONF = "case-9c1d2e4f", "conf-0001ab"
HP, PRAC, COORD, SYS = "hp-3f9a2c", "prac-5e6f7a", "coord-1a2b3c", "svc-aftercare"
VOL, SUP, RP = "vol-0001ab", "sup-0001ab", "rp-77ab12"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ROLES = {HP: Role.HARMED_PERSON, PRAC: Role.PRACTITIONER, COORD: Role.COORDINATOR,
         SYS: Role.SYSTEM, VOL: Role.VOLUNTEER, RP: Role.RESPONSIBLE_PERSON}  # fmt: skip


def ctx(who: str, now: datetime = NOW) -> CommandContext:
    actor = Actor(id=who, role=ROLES[who], agency="agency-north")
    return CommandContext(actor=actor, now=now, correlation_id=uuid4())


class Case:
    def __init__(self) -> None:
        self.state: ConferencesState = conference_decider.initial(CASE)

    def run(self, command: object, context: CommandContext) -> list:
        new = conference_decider.decide(self.state, command, context)
        for event in new:
            self.state = conference_decider.evolve(self.state, event, context.metadata())
        return new


def schedule(case: Case, *, consent: bool = True, who: str = COORD, **kw) -> list:
    body = {"conference_id": CONF, "starts_at": NOW + timedelta(days=7), "zone": "Europe/London",
            "cadence": "monthly", **kw}  # fmt: skip
    command = cc.ScheduleConference(**body, harmed_person_id=HP, participation_consent=consent)
    return case.run(command, ctx(who))


def invite(case: Case, member: str = VOL, role: str = "volunteer", who: str = COORD) -> list:
    return case.run(cc.InviteTo(conference_id=CONF, member_id=member, member_role=role), ctx(who))


def answer(case: Case, member: str = VOL, word: str = "agreed", who: str = HP) -> list:
    return case.run(cc.AnswerFor(conference_id=CONF, member_id=member, answer=word), ctx(who))


def hold(case: Case, attendees=(HP, VOL), at: datetime | None = None) -> list:
    at = at or NOW + timedelta(days=7, hours=2)
    command = cc.HoldMeeting(conference_id=CONF, held_at=at, attendee_ids=attendees,
                             minutes="words", needs=("housing",))  # fmt: skip
    return case.run(command, ctx(PRAC, NOW + timedelta(days=8)))


def test_scheduling_needs_her_participation_consent_the_team_and_a_future_time() -> None:
    case = Case()
    with pytest.raises(Rejected):
        schedule(case, consent=False)
    with pytest.raises(Forbidden):
        schedule(case, who=VOL)
    with pytest.raises(Rejected) as past:
        schedule(case, starts_at=NOW - timedelta(hours=1))
    assert past.value.field == "starts_at"
    [scheduled] = schedule(case)
    assert isinstance(scheduled, ev.ConferenceScheduled) and scheduled.harmed_person_id == HP
    assert schedule(case) == []  # a retry
    with pytest.raises(Rejected):
        schedule(case, cadence="weekly")  # the same id for another series
    with pytest.raises(ValidationError):
        cc.ConferenceBody(conference_id=CONF, starts_at=NOW, zone="Mars/Olympus")


def test_a_member_takes_part_only_once_she_agreed_and_no_longer_after_refusing() -> None:
    case = Case()
    schedule(case)
    invite(case)
    assert invite(case) == []
    with pytest.raises(Rejected):
        invite(case, role="supporter")  # invited in another role
    with pytest.raises(Rejected):
        invite(case, member=HP, role="supporter")
    conference = case.state.conferences[CONF]
    assert conference.taking_part() == {}
    with pytest.raises(Forbidden):
        answer(case, who=VOL)  # not the member's word, nor the team's: hers
    with pytest.raises(NotFound):
        answer(case, member=SUP)
    answer(case)
    assert case.state.conferences[CONF].taking_part() == {VOL: "volunteer"}
    assert answer(case) == []
    answer(case, word="refused", who=PRAC)  # her word, relayed
    assert case.state.conferences[CONF].taking_part() == {}


def test_meetings_name_only_her_and_agreed_members_and_actions_follow_a_meeting() -> None:
    case = Case()
    schedule(case)
    invite(case)
    invite(case, SUP, "supporter")
    answer(case)
    action = cc.AgreeActionAt(conference_id=CONF, action_id=uuid4(), kind="commitment",
                              assignee_id=RP, commitment_code="reparation")  # fmt: skip
    with pytest.raises(Rejected):
        case.run(action, ctx(PRAC))  # no meeting yet
    with pytest.raises(Rejected) as who:
        hold(case, attendees=(HP, SUP))  # invited, but she has not agreed
    assert who.value.field == "attendee_ids"
    with pytest.raises(Rejected):
        hold(case, at=NOW + timedelta(days=30))  # in the future
    [held] = hold(case)
    assert held.occurrence == 1 and held.minutes == "words" and held.harmed_person_id == HP
    assert ev.ConferenceHeld.personal_owner == "harmed_person_id"
    assert "minutes" in ev.ConferenceHeld.personal_fields
    [agreed] = case.run(action, ctx(PRAC))
    assert agreed.occurrence == 1 and agreed.assignee_id == RP
    assert case.run(action, ctx(PRAC)) == []
    with pytest.raises(Rejected):
        case.run(action.model_copy(update={"assignee_id": VOL}), ctx(PRAC))
    with pytest.raises(Forbidden):
        case.run(action.model_copy(update={"action_id": uuid4()}), ctx(COORD))
    bad = cc.AgreeActionAt(conference_id=CONF, action_id=uuid4(), kind="referral",
                           assignee_id=VOL, participant_id=HP)  # fmt: skip
    with pytest.raises(Rejected) as missing:
        case.run(bad, ctx(PRAC))
    assert missing.value.field == "participant_role"


def test_an_action_becomes_the_existing_event_of_its_kind_with_an_id_of_its_own() -> None:
    cause = uuid4()
    base = {"conference_id": CONF, "action_id": uuid4(), "assignee_id": RP}
    commitment = follow_up(cc.AgreeActionAt(**base, kind="commitment", commitment_code="other"),
                           cause)  # fmt: skip
    assert commitment.source_agreement_event_id == cause
    assert commitment.commitment_id == item_id_for(base["action_id"]) and commitment.owner_id == RP
    referral = follow_up(
        cc.AgreeActionAt(
            **base,
            kind="referral",
            participant_id=HP,
            participant_role="harmed_person",
            referral_kind="counselling",
            due_on=date(2026, 4, 1),
        ),
        cause,
    )
    assert referral.owner_id == RP and referral.kind is ev.ReferralKind.COUNSELLING


def test_a_withdrawal_cancels_every_conference_still_to_meet_once() -> None:
    case = Case()
    schedule(case)
    once = cc.ScheduleConference(
        conference_id="conf-0002ab",
        starts_at=NOW + timedelta(days=1),
        zone="UTC",
        harmed_person_id=HP,
        participation_consent=True,
    )
    case.run(once, ctx(PRAC))
    case.run(cc.HoldMeeting(conference_id="conf-0002ab", held_at=NOW + timedelta(days=1),
                            attendee_ids=(HP,)), ctx(PRAC, NOW + timedelta(days=2)))  # fmt: skip
    cause = uuid4()
    cancel = cc.CancelConferences(cause="consent_withdrawn", cause_event_id=cause)
    with pytest.raises(Forbidden):
        case.run(cancel, ctx(PRAC))
    [cancelled] = case.run(cancel, ctx(SYS))  # the one that met once and is over is left
    assert (cancelled.conference_id, cancelled.cause_event_id) == (CONF, cause)
    assert case.run(cancel, ctx(SYS)) == []
    assert case.run(cc.CancelConferences(cause="session_halted", cause_event_id=uuid4()),
                    ctx(SYS)) == []  # fmt: skip
    assert next_meeting(case.state.conferences[CONF]) is None
    with pytest.raises(Rejected):
        invite(case)
    with pytest.raises(Rejected):
        case.run(cc.CancelOne(conference_id="conf-0002ab"), ctx(COORD))  # met, and over


def test_the_team_cancels_with_no_reason_owed() -> None:
    case = Case()
    schedule(case)
    [cancelled] = case.run(cc.CancelOne(conference_id=CONF), ctx(COORD))
    assert cancelled.cause is ev.ConferenceCancelCause.BY_TEAM
    assert cancelled.cancelled_by_id == COORD
    assert case.run(cc.CancelOne(conference_id=CONF), ctx(PRAC)) == []


def test_a_series_keeps_its_local_time_across_daylight_saving() -> None:
    case = Case()
    # 10:00 in London on 1 March (GMT, UTC+0); the April meeting is 10:00 BST (09:00 UTC).
    schedule(case, starts_at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC), cadence="monthly")
    conference = case.state.conferences[CONF]
    assert meeting_at(conference, 1) == datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    assert next_meeting(conference) == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    weekly = conference.__class__(CONF, datetime(2026, 1, 31, 10, 0, tzinfo=UTC),
                                  "Europe/London", ev.ConferenceCadence.WEEKLY)  # fmt: skip
    assert meeting_at(weekly, 9) == datetime(2026, 4, 4, 9, 0, tzinfo=UTC)
    monthly = conference.__class__(CONF, datetime(2026, 1, 31, 10, 0, tzinfo=UTC),
                                   "UTC", ev.ConferenceCadence.MONTHLY)  # fmt: skip
    assert meeting_at(monthly, 1) == datetime(2026, 2, 28, 10, 0, tzinfo=UTC)
