"""The stages a case reaches, read off its events: one table for every reader that reports
progress (the web app's case index, the commissioners' reports), so "reached preparation" means
the same thing on a practitioner's screen and in a report.

A case's stage is the furthest reached (a pause is a gate, not a stage, and a case may move on
without passing every stage: story-telling needs no responsible person's acknowledgement)."""

from __future__ import annotations

STAGES = (
    "opening", "consent", "assessment", "preparation", "contact", "outcome", "aftercare",
    "closed",
)  # fmt: skip

STAGE_OF = {
    "CaseOpened": "opening",
    "InvitationRecorded": "opening",
    "ConsentGiven": "consent",
    "RiskAssessmentStarted": "assessment",
    "RiskAssessmentCompleted": "assessment",
    "PreparationSessionHeld": "preparation",
    "SessionScheduled": "contact",
    "SessionStarted": "contact",
    "SessionCompleted": "outcome",
    "AgreementReached": "outcome",
    "AftercareOffered": "aftercare",
    "AftercareAccepted": "aftercare",
    "CheckInScheduled": "aftercare",
    "CaseClosed": "closed",
    "AftercareClosed": "closed",
}


def furthest(stage: str | None, event_type: str) -> str | None:
    """The stage after an event of `event_type`: the further of `stage` and the event's own."""
    reached = STAGE_OF.get(event_type)
    if reached is None or (stage is not None and STAGES.index(stage) >= STAGES.index(reached)):
        return stage
    return reached
