"""Reminders and notices, pure. Two streams: `reminders:<person>` (the person's opt-in: which
reminders, on which route, within which hours; or stopped) and `notices:<case>` (the reminders
queued for the case's sessions, their cancellations, and the staff notices, each once per
cause). The rule R10 asks for lives in `may_send`: a reminder goes only to someone opted into
its kind now, within their hours; `due_time` places one inside those hours."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from mend_events.commands.decider import CommandContext, Decider
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.hub import (
    NoticeReason,
    ReminderCancelCause,
    ReminderCancelled,
    ReminderKind,
    ReminderQueued,
    RemindersChosen,
    RemindersStopped,
    StaffNotified,
)
from mend_events.contracts.envelope import Metadata
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mend_hub.zones import UTC_NAME, KnownZone, zone

_IDS = uuid5(NAMESPACE_URL, "https://mend.example/notify")


# --- the person's choice ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    """Nothing is chosen until the person chooses: the default sends nothing (R10)."""

    person_id: str
    route_id: UUID | None = None
    kinds: frozenset[ReminderKind] = frozenset()
    earliest_hour: int = 0
    latest_hour: int = 0
    lead_hours: int = 24
    timezone: str = UTC_NAME  # the clock of their hours

    def opted_into(self, kind: ReminderKind) -> bool:
        return self.route_id is not None and kind in self.kinds

    def within_hours(self, at: datetime) -> bool:
        """Is `at` (any aware moment) within their hours, on their own clock?"""
        hour = at.astimezone(zone(self.timezone)).hour
        start, end = self.earliest_hour, self.latest_hour
        if start < end:
            return start <= hour < end
        return start > end and (hour >= start or hour < end)  # overnight; equal: never


def may_send(choice: Choice, kind: ReminderKind, now: datetime) -> bool:
    """The one rule every reminder passes at the moment it would be sent."""
    return choice.opted_into(kind) and choice.within_hours(now)


def due_time(choice: Choice, kind: ReminderKind, at: datetime) -> datetime | None:
    """When to remind of something at `at`: `lead_hours` before, moved back to the last moment
    within the person's hours (at most two days back). None: not opted in, or no such hour."""
    if not choice.opted_into(kind):
        return None
    moment = at - timedelta(hours=choice.lead_hours)
    for _ in range(48):
        if choice.within_hours(moment):
            return moment
        moment = moment.replace(minute=59, second=0, microsecond=0) - timedelta(hours=1)
    return None


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChooseReminders(_Command):
    """Hours on the clock of `timezone` (an IANA name; None: the agency's, filled in by the
    service before deciding, so the event records the clock the hours were meant on)."""

    route_id: UUID
    kinds: tuple[ReminderKind, ...] = Field(min_length=1)
    earliest_hour: int = Field(ge=0, le=24)
    latest_hour: int = Field(ge=0, le=24)
    lead_hours: int = Field(24, ge=1, le=168)
    timezone: KnownZone | None = None

    @model_validator(mode="after")
    def _some_hours(self) -> ChooseReminders:
        if self.earliest_hour == self.latest_hour or self.earliest_hour == 24:
            raise ValueError("choose at least one hour in which reminders may arrive")
        return self


class StopReminders(_Command):
    pass


def _evolve_choice(state: Choice, event: DomainEvent, meta: Metadata) -> Choice:
    if isinstance(event, RemindersChosen):
        hours = (event.earliest_hour, event.latest_hour)
        return Choice(state.person_id, event.route_id, frozenset(event.kinds), *hours,
                      event.lead_hours, event.timezone or UTC_NAME)  # fmt: skip
    if isinstance(event, RemindersStopped):
        return Choice(state.person_id)
    return state


def _decide_choice(state: Choice, command: object, ctx: CommandContext) -> list[DomainEvent]:
    if ctx.actor.id != state.person_id:
        raise Forbidden("only the person chooses their own reminders")
    if isinstance(command, StopReminders):
        return [] if state == Choice(state.person_id) else [
            RemindersStopped(person_id=state.person_id)]  # fmt: skip
    assert isinstance(command, ChooseReminders)
    event = RemindersChosen(person_id=state.person_id, **command.model_dump())
    return [] if _evolve_choice(state, event, None) == state else [event]  # type: ignore[arg-type]


choices: Decider[Choice] = Decider(
    initial=lambda stream: Choice(stream.rpartition(":")[2]),
    evolve=_evolve_choice,
    decide=_decide_choice,
)


# --- a case's reminders and notices -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reminder:
    person_id: str
    session_id: str | None
    form: str | None
    due_at: datetime
    cancelled: bool = False
    kind: ReminderKind = ReminderKind.SESSION
    check_in_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Notices:
    case_id: str
    reminders: Mapping[UUID, Reminder] = field(default_factory=dict)
    notified: frozenset[tuple[str, UUID]] = frozenset()  # (practitioner, cause)


class QueueReminders(_Command):
    session_id: str
    form: str
    due: tuple[tuple[str, datetime], ...]  # (person, when), from each person's choice


class QueueCheckInReminder(_Command):
    """A reminder of an after-care or support check-in, for its participant (`due` from their
    choice); `plan` names the aftercare stream the check-in belongs to."""

    check_in_id: UUID
    plan: str
    person_id: str
    due: datetime


class CancelReminders(_Command):
    cause: ReminderCancelCause
    cause_event_id: UUID
    kind: ReminderKind = ReminderKind.SESSION  # a withdrawal never ends after-care's reminders
    session_id: str | None = None  # None: every session of the forms
    forms: tuple[str, ...] | None = None  # None: every form
    check_in_id: UUID | None = None  # None: every check-in (of `person_id`, when given)
    person_id: str | None = None


class NotifyStaff(_Command):
    reason: NoticeReason
    cause_event_id: UUID
    practitioners: tuple[str, ...]


def _evolve_notices(state: Notices, event: DomainEvent, meta: Metadata) -> Notices:
    if isinstance(event, ReminderQueued) and event.reminder_id not in state.reminders:
        r = Reminder(event.person_id, event.session_id, event.form, event.due_at,
                     kind=event.kind, check_in_id=event.check_in_id)  # fmt: skip
        return replace(state, reminders={**state.reminders, event.reminder_id: r})
    if isinstance(event, ReminderCancelled) and event.reminder_id in state.reminders:
        r = replace(state.reminders[event.reminder_id], cancelled=True)
        return replace(state, reminders={**state.reminders, event.reminder_id: r})
    if isinstance(event, StaffNotified):
        return replace(
            state, notified=state.notified | {(event.practitioner_id, event.cause_event_id)}
        )
    return state


def _matches(r: Reminder, command: CancelReminders) -> bool:
    if r.kind is not command.kind:
        return False
    if command.kind is ReminderKind.CHECK_IN:
        return command.check_in_id in (None, r.check_in_id) and command.person_id in (
            None,
            r.person_id,
        )
    return command.session_id in (None, r.session_id) and (
        command.forms is None or r.form in command.forms
    )


def _decide_notices(state: Notices, command: object, ctx: CommandContext) -> list[DomainEvent]:
    if ctx.actor.role != Role.SYSTEM:
        raise Forbidden("reminders and notices are queued by the hub itself")
    match command:
        case QueueReminders():
            out: list[DomainEvent] = []
            for person, when in command.due:
                rid = uuid5(_IDS, f"{state.case_id}/{command.session_id}/{person}")
                if rid not in state.reminders and when > ctx.now:
                    out.append(ReminderQueued(reminder_id=rid, person_id=person,
                                              kind=ReminderKind.SESSION,
                                              session_id=command.session_id, form=command.form,
                                              due_at=when))  # fmt: skip
            return out
        case QueueCheckInReminder():
            rid = uuid5(_IDS, f"{state.case_id}/check-in/{command.check_in_id}/{command.person_id}")
            if rid in state.reminders or command.due <= ctx.now:
                return []
            return [ReminderQueued(reminder_id=rid, person_id=command.person_id,
                                   kind=ReminderKind.CHECK_IN, check_in_id=command.check_in_id,
                                   plan=command.plan, due_at=command.due)]  # fmt: skip
        case CancelReminders():
            return [
                ReminderCancelled(
                    reminder_id=rid, cause=command.cause, cause_event_id=command.cause_event_id
                )
                for rid, r in sorted(state.reminders.items())
                if not r.cancelled and r.due_at > ctx.now and _matches(r, command)
            ]
        case NotifyStaff():
            return [
                StaffNotified(
                    notice_id=uuid5(_IDS, f"{p}/{command.cause_event_id}"),
                    practitioner_id=p,
                    reason=command.reason,
                    cause_event_id=command.cause_event_id,
                )
                for p in sorted(set(command.practitioners))
                if (p, command.cause_event_id) not in state.notified
            ]
    raise TypeError(f"no decision for {type(command).__name__}")


notices: Decider[Notices] = Decider(
    initial=lambda stream: Notices(stream.partition(":")[2]),
    evolve=_evolve_notices,
    decide=_decide_notices,
)
