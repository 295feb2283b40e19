"""The case process, pure: `decide(state, command, ctx) -> events`, `evolve(state, event, meta)`.

One stream per case (stream id = case id). The harmed person leads: they open the case, choose the
facilitator, set preferences and pace; anyone in a session, or a practitioner, may halt it.
The decisions live in `case.py` (the case itself) and `contact.py` (sessions); the fold in
`state.py`. This module is the one entry point the application layer uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mend_events.commands.decider import CommandContext, Decider
from mend_events.contracts.events import DomainEvent

from mend_sessions import commands as c
from mend_sessions.domain import case, contact, letters, materials, meetings, notes, referrals
from mend_sessions.domain.gates import GateView
from mend_sessions.domain.practitioners import Practitioner
from mend_sessions.domain.state import CaseState, evolve, initial

__all__ = ["WithGates", "WithPractitioner", "decide", "decider", "evolve", "initial"]


@dataclass(frozen=True, slots=True)
class WithGates:
    """A schedule or start request with the gate facts the application layer computed, at
    `ctx.now`, from this service's consent, risk and registry projections."""

    command: c.ScheduleSession | c.StartSession
    view: GateView


@dataclass(frozen=True, slots=True)
class WithPractitioner:
    """A facilitator choice with the registry's current record of that practitioner (None when the
    registry does not know them)."""

    command: c.ChooseFacilitator
    practitioner: Practitioner | None


Handler = Callable[[CaseState, Any, CommandContext], list[DomainEvent]]

_HANDLERS: dict[type, Handler] = {
    c.OpenCase: case.open_case,
    c.RecordInvitation: case.invite,
    c.EnrolParticipant: case.enrol,
    c.SetPreferences: case.prefer,
    c.PauseCase: case.pause,
    c.ResumeCase: case.resume,
    c.CloseCase: case.close,
    c.RecordPreparation: contact.prepare,
    c.CompleteSession: contact.complete,
    c.HaltSession: contact.halt,
    c.HaltSessionsDependingOnConsent: contact.react,
    c.HaltSessionsForRisk: contact.react,
    c.RecordAgreement: contact.agree,
    c.DraftLetter: letters.draft,
    c.ReviseLetter: letters.revise,
    c.SubmitLetter: letters.submit,
    c.ReturnLetter: letters.return_,
    c.ApproveLetter: letters.approve,
    c.DeliverLetter: letters.deliver,
    c.KeepLetterUnsent: letters.keep,
    c.NoteWithAttachment: notes.write,
    c.ShareNote: notes.share,
    c.RecordNoteRead: notes.read,
    c.RecordReferral: referrals.refer,
    c.RecordReferralOutcome: referrals.outcome,
    c.RecordResponsiblePersonOutcome: referrals.responsible_person,
    meetings.WithPlans: meetings.arrange,
    c.GiveAvailability: meetings.availability,
    c.CancelMeeting: meetings.cancel,
    c.WriteMaterial: materials.write,
    c.ReviseMaterial: materials.revise,
    c.ShareMaterial: materials.share,
    c.UnshareMaterial: materials.unshare,
    materials.WithText: materials.offer,
    c.RecordMaterialRead: materials.read,
}


def decide(state: CaseState, command: Any, ctx: CommandContext) -> list[DomainEvent]:
    match command:
        case WithGates(command=c.ScheduleSession() as cmd, view=view):
            return contact.schedule(state, cmd, view, ctx)
        case WithGates(command=c.StartSession() as cmd, view=view):
            return contact.start(state, cmd, view, ctx)
        case WithPractitioner(command=cmd, practitioner=practitioner):
            return case.choose(state, cmd, practitioner, ctx)
    handler = _HANDLERS.get(type(command))
    if handler is None:
        # A wiring error, not a client's: e.g. a schedule request sent without its gate facts.
        raise TypeError(f"the sessions domain cannot take a bare {type(command).__name__}")
    return handler(state, command, ctx)


decider: Decider[CaseState] = Decider(initial=initial, evolve=evolve, decide=decide)
