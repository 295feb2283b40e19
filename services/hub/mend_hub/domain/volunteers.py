"""Community volunteers (issue 21): their vetting and training records and the rule that lets
one be allocated to a case for a part, as pure functions of the staff record and a day.

A volunteer may be allocated for a part only while every required vetting check is recorded
clear and current, and every course the part requires is recorded and current. The allocation
names the earliest day one of those lapses (`valid_until`), so the trust model stops letting
them in from the day after without a timer, and an auditor sees what it stood on."""

from __future__ import annotations

from datetime import date

from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import hub as ev
from mend_events.contracts.catalog.hub import (
    REQUIRED_TRAINING,
    REQUIRED_VETTING,
    VettingOutcome,
    VolunteerPart,
)
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Conflict, Forbidden, NotFound, Rejected

from mend_hub import commands as c
from mend_hub.domain.state import StaffState


def _a_volunteer(state: StaffState) -> None:
    if state.role is not Role.VOLUNTEER:
        raise Rejected("vetting and training are recorded for volunteers", field="person_id")
    if not state.active:
        raise Rejected("this volunteer is deactivated", field="person_id")


def _dates(start: date, until: date | None, ctx: CommandContext, field: str) -> None:
    if start > ctx.now.date():
        raise Rejected("a record is of something done, not a future date", field=field)
    if until is not None and until < start:
        raise Rejected("it cannot lapse before it was done", field="valid_until")


def record_vetting(state: StaffState, cmd: c.RecordVetting, ctx: CommandContext) -> list:
    _a_volunteer(state)
    _dates(cmd.checked_on, cmd.valid_until, ctx, "checked_on")
    found = ev.VolunteerVetted(
        agency_id=cmd.agency_id,
        person_id=state.person_id,
        check=cmd.check,
        outcome=cmd.outcome,
        checked_on=cmd.checked_on,
        valid_until=cmd.valid_until,
    )
    return [] if found in state.vetting else [found]


def record_training(state: StaffState, cmd: c.RecordTraining, ctx: CommandContext) -> list:
    _a_volunteer(state)
    _dates(cmd.completed_on, cmd.valid_until, ctx, "completed_on")
    found = ev.VolunteerTrained(
        agency_id=cmd.agency_id,
        person_id=state.person_id,
        course=cmd.course,
        completed_on=cmd.completed_on,
        valid_until=cmd.valid_until,
    )
    return [] if found in state.training else [found]


def gaps(state: StaffState, part: VolunteerPart, today: date) -> list[tuple[str, str]]:
    """What stands between the volunteer and `part` on `today`: (check or course, `missing`,
    `not_clear` or `lapsed`), codes only."""
    found: list[tuple[str, str]] = []
    vetting = {v.check: v for v in state.vetting}
    for check in sorted(REQUIRED_VETTING):
        record = vetting.get(check)
        if record is None:
            found.append((str(check), "missing"))
        elif record.outcome is not VettingOutcome.CLEAR:
            found.append((str(check), "not_clear"))
        elif record.valid_until < today:
            found.append((str(check), "lapsed"))
    training = {t.course: t for t in state.training}
    for course in sorted(REQUIRED_TRAINING[part]):
        done = training.get(course)
        if done is None:
            found.append((str(course), "missing"))
        elif done.valid_until is not None and done.valid_until < today:
            found.append((str(course), "lapsed"))
    return found


_WORDS = {"missing": "no {} is recorded", "not_clear": "the {} is not clear",
          "lapsed": "the {} lapsed"}  # fmt: skip


def missing(state: StaffState, part: VolunteerPart, today: date) -> list[str]:
    """`gaps` in words (codes only), for a refusal's reason."""
    words = []
    for what, state_of in gaps(state, part, today):
        course = what in {str(c) for c in REQUIRED_TRAINING[part]}
        name = f"{what} training" if course else what
        words.append(_WORDS[state_of].format(name))
    return words


def valid_until(state: StaffState, part: VolunteerPart, today: date) -> date:
    """The last day the volunteer stands for `part`, or a refusal naming what is missing."""
    gaps = missing(state, part, today)
    if gaps:
        raise Rejected(
            f"this volunteer may not be allocated as {part} yet: " + "; ".join(gaps),
            field="volunteer_id",
        )
    ends = [v.valid_until for v in state.vetting if v.check in REQUIRED_VETTING]
    ends += [
        t.valid_until
        for t in state.training
        if t.course in REQUIRED_TRAINING[part] and t.valid_until is not None
    ]
    return min(ends)


def decide_volunteer_allocation(state, cmd: object, ctx: CommandContext) -> list[DomainEvent]:
    """`c.AllocateVolunteer` or `c.DeallocateVolunteer` on a case's allocations (`state`:
    CaseAllocations; its agency and the reason were checked by the caller)."""
    case = state.case_id
    if isinstance(cmd, c.DeallocateVolunteer):
        if state.volunteer(cmd.volunteer_id) is None:
            if cmd.only_if_allocated:
                return []
            raise Conflict("this volunteer is not allocated to this case", field="volunteer_id")
        return [
            ev.VolunteerDeallocated(agency_id=cmd.agency_id, case_id=case,
                                    volunteer_id=cmd.volunteer_id, reason=cmd.reason)
        ]  # fmt: skip
    assert isinstance(cmd, c.AllocateVolunteer)
    _allocatable(cmd, ctx)
    assert cmd.record is not None
    until = valid_until(cmd.record, cmd.part, ctx.now.date())
    held = state.volunteer(cmd.volunteer_id)
    if held is not None and held.part is not cmd.part:
        raise Conflict(
            f"this volunteer is allocated to this case as {held.part}: end that first",
            field="part",
        )
    if held is not None and held.valid_until == until:
        return []  # allocated already, on the same records
    # A renewal (records renewed since) allocates again with the new day.
    return [
        ev.VolunteerAllocated(agency_id=cmd.agency_id, case_id=case, volunteer_id=cmd.volunteer_id,
                              part=cmd.part, reason=cmd.reason, valid_until=until)
    ]  # fmt: skip


def _allocatable(cmd: c.AllocateVolunteer, ctx: CommandContext) -> None:
    standing = cmd.standing
    if standing is None or standing.agency_id != cmd.agency_id:
        raise NotFound("no volunteer with this id in this agency", field="volunteer_id")
    if standing.role is not Role.VOLUNTEER:
        raise Rejected("only a volunteer is allocated for a part", field="volunteer_id")
    if not standing.active:
        raise Rejected("this volunteer is deactivated", field="volunteer_id")
    if not standing.agency_active:
        raise Forbidden("the agency is suspended", field="agency_id")
