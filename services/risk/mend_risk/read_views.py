"""What the read model's rows become in the risk service's answers: the latest completed
assessment (`Latest`, as the domain reads it) and an assessment as the API shows it at a moment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from mend_events.contracts.catalog.risk import AssessmentStage

from mend_risk.domain.answers import Latest


def parse_form_key(key: str) -> tuple[str, bool]:
    form, _, involved = key.rpartition(":")
    return form, involved == "true"


def latest_from_row(row: asyncpg.Record) -> Latest:
    return Latest(
        assessment_id=row["assessment_id"],
        stage=row["stage"],
        decision=row["decision"],
        completed_at=row["completed_at"],
        valid_until=row["valid_until"],
        forms=tuple(sorted(parse_form_key(k) for k in row["forms"])),
    )


def assessment_view(row: asyncpg.Record, at: datetime) -> dict[str, Any]:
    latest = latest_from_row(row)
    current = latest.stage == AssessmentStage.FULL and at < latest.valid_until
    return {
        "assessment_id": str(latest.assessment_id),
        "stage": latest.stage,
        "decision": latest.decision,
        "reasons": list(row["reasons"] or ()),
        "signed_off_by": row["signed_off_by"],
        "completed_at": latest.completed_at,
        "valid_until": latest.valid_until,
        "stale": at >= latest.valid_until,
        # What it permits for contact then: nothing unless it is a full, current assessment.
        "governs_contact": current,
        "permitted_forms": [
            {"form": form, "with_responsible_person": involved} for form, involved in latest.forms
        ],
    }
