"""Reminders and notices, pure: R10's rule (a reminder only to someone opted into it, within
their hours, none after they stop) as a property over random histories of choices, and the
case's reminders and notices decided once per cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Actor, Role
from mend_events.contracts.catalog.hub import (
    NoticeReason,
    ReminderCancelCause,
    ReminderKind,
    StaffNotified,
)
from mend_events.contracts.envelope import Metadata
from mend_events.errors import Forbidden
from mend_hub.notify.domain import (
    CancelReminders,
    Choice,
    ChooseReminders,
    NotifyStaff,
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
STEP = st.one_of(
    st.tuples(
        st.just("choose"),
        st.sets(st.sampled_from(list(ReminderKind))),
        HOURS,
        HOURS,
        st.integers(min_value=1, max_value=72),
    ),
    st.tuples(st.just("stop")),
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=60 * 30)),  # minutes
    st.tuples(st.just("due")),  # a queued reminder comes due now
)


@settings(max_examples=300, deadline=None)
@given(st.lists(STEP, max_size=30))
def test_no_reminder_is_ever_sent_to_someone_not_opted_in_nor_after_they_stop(steps):
    """Over any history of choices and stops, the deliverer's rule (`may_send` on the
    person's choice as it is at that moment) sends only to someone opted in, within their
    hours, and never between a stop and the next opt-in."""
    stream = f"reminders:agency-a:{HP}"
    state, now, stopped, sent = choices.initial(stream), T0, True, []
    for step in steps:
        command = None
        if step[0] == "choose":
            _, kinds, start, end, lead = step
            if kinds and start != end:
                command = ChooseReminders(route_id=ROUTE, kinds=tuple(kinds), earliest_hour=start,
                                          latest_hour=end, lead_hours=lead)  # fmt: skip
        elif step[0] == "stop":
            command = StopReminders()
        elif step[0] == "wait":
            now += timedelta(minutes=step[1])
        if command is not None:
            for event in choices.decide(state, command, ctx(HP, Role.HARMED_PERSON, now)):
                state = choices.evolve(
                    state, event, Metadata(HP, Role.HARMED_PERSON, "agency-a", uuid4(), None, now)
                )
            stopped = isinstance(command, StopReminders) or SESSION not in command.kinds
        if step[0] == "due" and may_send(state, SESSION, now):
            sent.append((now, stopped, state))
    for at, was_stopped, choice in sent:
        assert not was_stopped  # never after a stop, never without an opt-in to this kind
        assert SESSION in choice.kinds and choice.route_id == ROUTE
        assert choice.within_hours(at)
