"""Reminders and notices, pure: R10's rule (a reminder only to someone opted into it, within
their hours on their own clock, none after they stop) as a property over random histories of
choices of session and check-in reminders in many time zones, and the case's (or a plan's)
reminders and notices decided once per cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog.hub import (
    NoticeReason,
    ReminderCancelCause,
    ReminderKind,
    RemindersChosen,
    StaffNotified,
)
from mend_events.contracts.envelope import Metadata
from mend_events.errors import Forbidden
from mend_hub.notify.domain import (
    CancelReminders,
    Choice,
    ChooseReminders,
    NotifyStaff,
    QueueCheckInReminder,
    QueueReminders,
    StopReminders,
    choices,
    due_time,
    may_send,
    notices,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HP, RP, FAC = "hp-0001", "rp-0001", "prac-0001"
ROUTE = uuid4()
SESSION = ReminderKind.SESSION


def ctx(actor: str, role: Role, now: datetime = T0) -> CommandContext:
    return CommandContext(
        actor=Actor(id=actor, role=role, agency="agency-a"), now=now, correlation_id=uuid4()
    )


def run(decider, stream, commands):
    """Decide and fold each (actor, role, command, now) in turn; the final state."""
    state, history = decider.initial(stream), []
    for actor, role, command, now in commands:
        for event in decider.decide(state, command, ctx(actor, role, now)):
            meta = Metadata(actor, role, "agency-a", uuid4(), None, now)
            state = decider.evolve(state, event, meta)
            history.append(event)
    return state, history


def test_nothing_is_chosen_until_the_person_chooses():
    assert not choices.initial("reminders:agency-a:hp-0001").opted_into(SESSION)


def test_only_the_person_chooses_and_stopping_is_at_once():
    choose = ChooseReminders(route_id=ROUTE, kinds=(SESSION,), earliest_hour=18, latest_hour=21)
    with pytest.raises(Forbidden):
        run(choices, f"reminders:agency-a:{HP}", [(FAC, Role.PRACTITIONER, choose, T0)])
    state, events = run(choices, f"reminders:agency-a:{HP}", [
        (HP, Role.HARMED_PERSON, choose, T0), (HP, Role.HARMED_PERSON, choose, T0),
        (HP, Role.HARMED_PERSON, StopReminders(), T0),
        (HP, Role.HARMED_PERSON, StopReminders(), T0)])  # fmt: skip
    assert [e.event_type for e in events] == ["RemindersChosen", "RemindersStopped"]
    assert not state.opted_into(SESSION)


def test_a_reminder_falls_within_the_persons_hours_or_not_at_all():
    evening = Choice(HP, ROUTE, frozenset({SESSION}), 18, 21, 24)
    at = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # a morning session
    assert due_time(evening, SESSION, at) == datetime(2026, 12, 1, 20, 59, tzinfo=UTC)
    night = Choice(HP, ROUTE, frozenset({SESSION}), 22, 2, 24)  # across midnight
    assert night.within_hours(at.replace(hour=23)) and night.within_hours(at.replace(hour=1))
    assert not night.within_hours(at.replace(hour=2))
    assert due_time(Choice(HP), SESSION, at) is None
    with pytest.raises(ValueError):
        ChooseReminders(route_id=ROUTE, kinds=(SESSION,), earliest_hour=9, latest_hour=9)


def test_reminders_are_queued_cancelled_and_staff_told_once_per_cause():
    stream, system = "notices:case-0001", ("svc-hub-notify", Role.SYSTEM)
    queue = QueueReminders(
        session_id="sess-0001",
        form="letter",
        due=((HP, T0 + timedelta(days=1)), (RP, T0 + timedelta(days=1))),
    )
    withdrawal = uuid4()
    cancel = CancelReminders(
        cause=ReminderCancelCause.CONSENT_WITHDRAWN, cause_event_id=withdrawal, forms=("letter",)
    )
    tell = NotifyStaff(
        reason=NoticeReason.CONSENT_WITHDRAWN, cause_event_id=withdrawal, practitioners=(FAC,)
    )
    # The halt the withdrawal caused names the same cause: nothing a second time.
    again = CancelReminders(
        cause=ReminderCancelCause.CONSENT_WITHDRAWN,
        cause_event_id=withdrawal,
        session_id="sess-0001",
    )
    _state, events = run(notices, stream, [(*system, c, T0) for c in
                                          (queue, queue, cancel, tell, again, tell)])  # fmt: skip
    assert [e.event_type for e in events] == ["ReminderQueued"] * 2 + [
        "ReminderCancelled"] * 2 + ["StaffNotified"]  # fmt: skip
    assert all(e.cause_event_id == withdrawal for e in events[2:])
    assert isinstance(events[-1], StaffNotified) and events[-1].practitioner_id == FAC
    with pytest.raises(Forbidden):
        run(notices, stream, [(FAC, Role.PRACTITIONER, tell, T0)])


# --- R10 as a property --------------------------------------------------------------------

HOURS = st.integers(min_value=0, max_value=23)
# Zones with whole, half, quarter-hour and daylight-saving offsets either side of UTC.
ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu",
         "Pacific/Chatham", "Australia/Lord_Howe", "Pacific/Kiritimati"]  # fmt: skip
KINDS = st.sampled_from(list(ReminderKind))
STEP = st.one_of(
    st.tuples(
        st.just("choose"),
        st.sets(KINDS),
        HOURS,
        HOURS,
        st.integers(min_value=1, max_value=72),
        st.sampled_from(ZONES),
    ),
    st.tuples(st.just("stop")),
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=60 * 30)),  # minutes
    st.tuples(st.just("due"), KINDS),  # a queued reminder of this kind comes due now
)


def _local_hour(at: datetime, name: str) -> int:
    """Independently of the code under test: the hour on that zone's clock."""
    return at.astimezone(ZoneInfo(name)).hour


@settings(max_examples=300, deadline=None)
@given(st.lists(STEP, max_size=30), st.datetimes(min_value=datetime(2026, 1, 1),
                                                max_value=datetime(2027, 12, 31)))  # fmt: skip
def test_no_reminder_is_ever_sent_to_someone_not_opted_in_nor_after_they_stop(steps, start):
    """Over any history of choices (of session and check-in reminders, on any clock) and stops,
    the deliverer's rule (`may_send` on the person's choice as it is at that moment) sends a
    reminder of a kind only to someone opted into that kind, within their hours on their own
    clock, and never between a stop (or a choice without that kind) and the next opt-in."""
    stream = f"reminders:agency-a:{HP}"
    now = start.replace(tzinfo=UTC)
    state, opted, sent = choices.initial(stream), set(), []
    for step in steps:
        command = None
        if step[0] == "choose":
            _, kinds, first, end, lead, zone = step
            if kinds and first != end:
                command = ChooseReminders(route_id=ROUTE, kinds=tuple(kinds), earliest_hour=first,
                                          latest_hour=end, lead_hours=lead,
                                          timezone=zone)  # fmt: skip
        elif step[0] == "stop":
            command = StopReminders()
        elif step[0] == "wait":
            now += timedelta(minutes=step[1])
        if command is not None:
            for event in choices.decide(state, command, ctx(HP, Role.HARMED_PERSON, now)):
                state = choices.evolve(
                    state, event, Metadata(HP, Role.HARMED_PERSON, "agency-a", uuid4(), None, now)
                )
            opted = set() if isinstance(command, StopReminders) else set(command.kinds)
        if step[0] == "due" and may_send(state, step[1], now):
            sent.append((now, step[1], step[1] in opted, state))
    for at, kind, was_opted, choice in sent:
        assert was_opted  # never after a stop, never without an opt-in to this kind
        assert kind in choice.kinds and choice.route_id == ROUTE
        first, end = choice.earliest_hour, choice.latest_hour
        hour = _local_hour(at, choice.timezone)
        assert (first <= hour < end) if first < end else (hour >= first or hour < end)


def test_hours_are_on_the_persons_own_clock_and_default_to_utc_for_older_choices():
    london = Choice(HP, ROUTE, frozenset({ReminderKind.CHECK_IN}), 18, 21, 24, "Europe/London")
    summer = datetime(2026, 7, 1, 17, 30, tzinfo=UTC)  # 18:30 in London (BST)
    assert london.within_hours(summer) and not london.within_hours(summer.replace(hour=20))
    assert london.within_hours(datetime(2026, 12, 1, 20, 30, tzinfo=UTC))  # GMT in winter
    kolkata = Choice(HP, ROUTE, frozenset({ReminderKind.CHECK_IN}), 9, 10, 24, "Asia/Kolkata")
    due = due_time(kolkata, ReminderKind.CHECK_IN, datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    assert due is not None and _local_hour(due, "Asia/Kolkata") == 9
    with pytest.raises(ValueError):
        ChooseReminders(route_id=ROUTE, kinds=(SESSION,), earliest_hour=9, latest_hour=10,
                        timezone="Mars/Olympus_Mons")  # fmt: skip
    older = RemindersChosen(person_id=HP, route_id=ROUTE, kinds=(SESSION,), earliest_hour=9,
                            latest_hour=10, lead_hours=2)  # fmt: skip
    meta = Metadata(HP, Role.HARMED_PERSON, "agency-a", uuid4(), None, T0)
    folded = choices.evolve(choices.initial(f"reminders:agency-a:{HP}"), older, meta)
    assert folded.timezone == "UTC"


def test_check_in_reminders_are_cancelled_by_their_plan_never_by_a_sessions_withdrawal():
    stream, system = "notices:support:agency-a:enq-0a1b2c3d", ("svc-hub-notify", Role.SYSTEM)
    check_in, later = uuid4(), T0 + timedelta(days=2)
    queue = QueueCheckInReminder(check_in_id=check_in, plan=stream[8:], person_id=HP, due=later)
    withdrawal = CancelReminders(cause=ReminderCancelCause.CONSENT_WITHDRAWN,
                                 cause_event_id=uuid4())  # fmt: skip
    closed = CancelReminders(cause=ReminderCancelCause.PLAN_CLOSED, cause_event_id=uuid4(),
                             kind=ReminderKind.CHECK_IN)  # fmt: skip
    _state, events = run(notices, stream, [(*system, c, T0) for c in
                                          (queue, queue, withdrawal, closed, closed)])  # fmt: skip
    assert [e.event_type for e in events] == ["ReminderQueued", "ReminderCancelled"]
    assert events[0].kind is ReminderKind.CHECK_IN and events[0].check_in_id == check_in
    assert events[1].cause is ReminderCancelCause.PLAN_CLOSED
