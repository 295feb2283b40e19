"""What tests, the demo and the benchmarks write most, in one place: a self-referred case opened
for a harmed person; a trained practitioner registered; a participant's consent (the HTTP body a
participant posts, and the event a store or topic holds once it was given: informed both ways, no
incentive attested, unless a caller says otherwise with `**extra`); and any event as a consumer
receives it off the bus."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from mend_events.contracts.actors import Role
from mend_events.contracts.catalog.consent import TAKE_PART, ConsentGiven
from mend_events.contracts.catalog.sessions import CaseOpened, HarmCategory, JusticeStage, Route
from mend_events.contracts.envelope import Metadata, RecordedEvent
from mend_events.contracts.events import DomainEvent


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


def practitioner_body(
    practitioner_id: str, level: int = 2, specialisms: Sequence[str] = ()
) -> dict[str, Any]:
    """The body of `POST /practitioners`: a practitioner trained in restorative justice and in
    sexual harm, at `level`, with `specialisms`."""
    return {
        "practitioner_id": practitioner_id,
        "rj_trained": True,
        "sexual_harm_trained": True,
        "level": level,
        "specialisms": list(specialisms),
    }


def envelope_metadata(
    actor: str,
    role: Role,
    agency: str = "agency-a",
    causation: UUID | None = None,
    *,
    at: datetime | None = None,
) -> Metadata:
    """An envelope's metadata: `actor` in `role` of `agency`, a fresh correlation id, caused by
    `causation` (if any), occurring `at` (now by default)."""
    return Metadata(actor, role, agency, uuid4(), causation, at or datetime.now(UTC))


def delivered(
    service: str,
    stream_id: str,
    event: DomainEvent | str,
    data: dict[str, Any] | None = None,
    *,
    actor: str = "hp-alice01",
    role: Role = Role.HARMED_PERSON,
    agency: str = "agency-a",
    position: int = 1,
    version: int = 1,
    at: datetime | None = None,
    metadata: Metadata | None = None,
) -> RecordedEvent:
    """`event` (a model, or an event type with its `data`: a schema-1 payload that need not be
    valid) as `service`'s relay publishes it and a consumer receives it."""
    if isinstance(event, DomainEvent):
        event_type, schema_version, data = event.event_type, event.schema_version, event.to_data()
    else:
        event_type, schema_version, data = event, 1, data or {}
    at = at or datetime.now(UTC)
    return RecordedEvent(
        global_position=position,
        stream_id=stream_id,
        stream_version=version,
        event_id=uuid4(),
        event_type=event_type,
        schema_version=schema_version,
        data=data,
        recorded_at=at,
        case_id=stream_id,
        metadata=metadata or envelope_metadata(actor, role, agency, at=at),
        service=service,
    )
