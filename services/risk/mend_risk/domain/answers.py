"""The "permits" answer (R4's risk half) in words, from a folded state or from the read
model's row: one wording whichever source computed it. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from mend_events.contracts.catalog.risk import AssessmentStage
from mend_events.contracts.vocabulary import ContactForm

from mend_risk.domain.forms import usual_involvement
from mend_risk.domain.queries import latest_completed, permits, unresolved_severe_flags
from mend_risk.domain.state import RiskState


@dataclass(frozen=True, slots=True)
class Latest:
    """The last assessment completed by a moment: what governs contact then (if it is full
    and current)."""

    assessment_id: UUID
    stage: str
    decision: str
    completed_at: datetime
    valid_until: datetime
    forms: tuple[tuple[str, bool], ...]  # sorted (form, with_responsible_person)


def permits_answer(
    case_id: str,
    form: ContactForm,
    involved: bool,
    at: datetime,
    latest: Latest | None,
    permitted: bool,
    severe_flags: list[UUID],
) -> dict[str, Any]:
    """The "permits" answer in words, from whichever source computed `permitted`."""
    who = "with" if involved else "without"
    if latest is None:
        why = "no risk assessment was completed by then"
    elif latest.stage != AssessmentStage.FULL:
        why = "the latest assessment by then was an initial one; contact needs a full assessment"
    elif at >= latest.valid_until:
        why = "the latest assessment by then was stale: reassess before any contact"
    elif not permitted:
        why = f"the decision ({latest.decision}) does not permit {form} {who} the responsible"
        why += " person"
    else:
        why = f"the decision ({latest.decision}) permits {form} {who} the responsible person"
    return {
        "case_id": case_id,
        "form": str(form),
        "with_responsible_person": involved,
        "at": at,
        "permitted": permitted,
        "reason": why,
        "assessment_id": str(latest.assessment_id) if latest else None,
        "decision": latest.decision if latest else None,
        "completed_at": latest.completed_at if latest else None,
        "valid_until": latest.valid_until if latest else None,
        # Severe flags standing then: they halt contact and block scheduling (R5) whatever the
        # assessment permits; the sessions service acts on them.
        "severe_flags": [str(f) for f in severe_flags],
    }


def permits_in(
    state: RiskState,
    form: ContactForm,
    at: datetime,
    *,
    with_responsible_person: bool | None = None,
) -> dict[str, Any]:
    """The "permits" answer from a folded state, with the domain's own `permits`."""
    involved = involvement(form, with_responsible_person)
    done = latest_completed(state, at)
    latest = None
    if done is not None and done.completion is not None and done.completed_at is not None:
        c = done.completion
        latest = Latest(
            assessment_id=done.assessment_id,
            stage=str(done.stage),
            decision=str(c.decision),
            completed_at=done.completed_at,
            valid_until=c.valid_until,
            forms=tuple(
                sorted((str(p.form), p.with_responsible_person) for p in c.permitted_forms)
            ),
        )
    permitted = permits(state, form, at, with_responsible_person=involved)
    severe = [f.raised.flag_id for f in unresolved_severe_flags(state, at)]
    return permits_answer(state.case_id, form, involved, at, latest, permitted, severe)


def involvement(form: ContactForm, with_responsible_person: bool | None) -> bool:
    return usual_involvement(form) if with_responsible_person is None else with_responsible_person
