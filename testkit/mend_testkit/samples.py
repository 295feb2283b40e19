"""What tests, the demo and the benchmarks write most, in one place: a self-referred case opened
for a harmed person, and a participant's consent (the HTTP body a participant posts, and the event
a store or topic holds once it was given: informed both ways, no incentive attested, unless a
caller says otherwise with `**extra`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.consent import TAKE_PART, ConsentGiven
from mend_events.contracts.catalog.sessions import CaseOpened, HarmCategory, JusticeStage, Route


def case_opened(
    harmed_person_id: str,
    agency: str = "agency-a",
    justice_stage: JusticeStage = JusticeStage.NONE,
) -> CaseOpened:
    """A case of sexual assault the harmed person referred themselves for."""
    return CaseOpened(
        harm_category=HarmCategory.SEXUAL_ASSAULT,
        justice_stage=justice_stage,
        agency=agency,
        harmed_person_id=harmed_person_id,
        route=Route.SELF_REFERRAL,
    )


def consent_body(participant_id: str, scope: str = TAKE_PART, **extra: Any) -> dict[str, Any]:
    """The body of `POST /cases/{case}/consents`."""
    return {
        "participant_id": participant_id,
        "scope": scope,
        "informed_how": "both",
        "no_incentive_attested": True,
        **extra,
    }


def consent_given(
    participant_id: str,
    role: Role = Role.HARMED_PERSON,
    scope: str = TAKE_PART,
    *,
    grant_id: UUID | None = None,
    **extra: Any,
) -> ConsentGiven:
    """The event of a consent given (a fresh grant id unless `grant_id` is given)."""
    fields: dict[str, Any] = {"informed_how": "both", "no_incentive_attested": True, **extra}
    return ConsentGiven(
        grant_id=grant_id or uuid4(),
        participant_id=participant_id,
        participant_role=role,
        scope=scope,
        **fields,
    )
