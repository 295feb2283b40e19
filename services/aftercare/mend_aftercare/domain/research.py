"""Outcome instruments (issue 21): a whole answer set, about one person, at one of the
instrument's points, only under that person's research consent, never overwritten."""

from __future__ import annotations

from mend_events import instruments
from mend_events.commands.decider import CommandContext
from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.aftercare import InstrumentAnswered, PlanRole
from mend_events.contracts.events import DomainEvent
from mend_events.errors import Forbidden, Rejected
from mend_events.instruments import Respondent

from mend_aftercare import commands as c
from mend_aftercare.domain.state import AftercareState

# Whom each kind of instrument is about.
_ABOUT = {
    Respondent.HARMED_PERSON: PlanRole.HARMED_PERSON,
    Respondent.RESPONSIBLE_PERSON: PlanRole.RESPONSIBLE_PERSON,
    Respondent.AGENCY_ABOUT_RESPONSIBLE_PERSON: PlanRole.RESPONSIBLE_PERSON,
}


def answer_instrument(
    s: AftercareState, cmd: c.AnswerInstrument, ctx: CommandContext
) -> list[DomainEvent]:
    try:
        instrument = instruments.parse_ref(cmd.instrument)
    except instruments.UnknownInstrument:
        raise Rejected("no such instrument version is shipped", field="instrument") from None
    about = _ABOUT[instrument.respondent]
    if cmd.about_role is not about:
        raise Rejected(f"{instrument.ref} is about the {about.value.replace('_', ' ')}",
                       field="about_id")  # fmt: skip
    actor = ctx.actor
    if instrument.respondent is Respondent.AGENCY_ABOUT_RESPONSIBLE_PERSON:
        if actor.role is not Role.PRACTITIONER:
            raise Forbidden("the agency's follow-up is recorded by a practitioner")
    elif not (actor.id == cmd.about_id or actor.role is Role.PRACTITIONER):
        raise Forbidden("only the person, or their practitioner, records their answers")
    if not cmd.research_consent:
        raise Rejected(
            "the person has not consented to outcome research (or has withdrawn it)",
            field="research_consent",
        )
    found = instruments.problems(instrument, cmd.point, cmd.answers)
    if found:
        raise Rejected("; ".join(found), field=found[0].partition(":")[0])
    before = s.instrument_answers.get((instrument.ref, cmd.point, cmd.about_id))
    if before is not None:
        if dict(before) == dict(cmd.answers):
            return []  # the same answers again (a retry)
        raise Rejected("this point is answered already; answers are never overwritten",
                       field="point")  # fmt: skip
    return [
        InstrumentAnswered(
            instrument=instrument.ref,
            point=cmd.point,
            about_id=cmd.about_id,
            about_role=about,
            answers=dict(cmd.answers),
        )
    ]
