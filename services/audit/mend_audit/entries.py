"""One entry of a case's history: an event as the auditor sees it (who, when, what, in safe
words, and what caused it), made from a replayed event or a row of the stored projection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from mend_events.contracts.envelope import RecordedEvent

from mend_audit.replay import service_rank
from mend_audit.summaries import facts, summarise

# What an auditor asks about first (R9): every halt and every withdrawal, and why.
HALT_KINDS: dict[str, str] = {
    "SessionHalted": "halt",
    "ConsentWithdrawn": "withdrawal",
    "AcknowledgementWithdrawn": "withdrawal",
    "DesistancePlanEnded": "withdrawal",
    "ConsentInvalidated": "invalidation",
    "ConsentLapsed": "lapse",
}

# Fields by which an event names its cause itself, beside the envelope's causation id.
_CAUSE_FIELDS = ("cause_event_id", "trigger_event_id")

# The stored projection's columns, in order (see migrations/0001_case_history.sql).
COLUMNS = (
    "case_id",
    "recorded_at",
    "service",
    "service_rank",
    "global_position",
    "event_id",
    "stream_id",
    "stream_version",
    "event_type",
    "schema_version",
    "actor_id",
    "actor_role",
    "agency",
    "occurred_at",
    "correlation_id",
    "causation_id",
    "summary",
    "facts",
)


def iso(moment: datetime) -> str:
    """One spelling for every moment: UTC, microseconds, so strings sort as times do."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _maybe_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _known(value: Any) -> str:
    return "?" if value is None else str(value)


def row_of(event: RecordedEvent) -> tuple[Any, ...]:
    """The stored projection's row for one event: a function of that event alone, so a live
    projection and a rebuild hold the same rows whatever order they met the events in. (The
    projection computes the envelope columns in SQL, to the same values: see projection.py.)"""
    meta = event.raw_metadata
    occurred = meta.get("occurred_at")
    return (
        event.case_id,
        event.recorded_at,
        event.service,
        service_rank(event.service),
        event.global_position,
        event.event_id,
        event.stream_id,
        event.stream_version,
        event.event_type,
        event.schema_version,
        _known(meta.get("actor_id")),
        _known(meta.get("role")),
        _known(meta.get("agency")),
        datetime.fromisoformat(occurred) if occurred is not None else event.recorded_at,
        meta.get("correlation_id"),
        meta.get("causation_id"),
        summarise(event.event_type, event.data),
        facts(event.event_type, event.data),
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """One event in a case's timeline, as an auditor reads it."""

    case_id: str
    recorded_at: str
    service: str
    global_position: int
    event_id: str
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    actor_id: str
    actor_role: str
    agency: str
    occurred_at: str
    correlation_id: str | None
    causation_id: str | None
    summary: str
    facts: Mapping[str, Any] = field(hash=False, compare=True)

    @property
    def sort_key(self) -> tuple[str, int, str, int]:
        return (self.recorded_at, service_rank(self.service), self.service, self.global_position)

    @property
    def cause_id(self) -> str | None:
        """The event that caused this one: the causation id, else a cause the event names."""
        if self.causation_id:
            return self.causation_id
        for name in _CAUSE_FIELDS:
            value = self.facts.get(name)
            if isinstance(value, str):
                return value
        return None

    @property
    def kind(self) -> str | None:
        return HALT_KINDS.get(self.event_type)

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "service": self.service,
            "stream_id": self.stream_id,
            "stream_version": self.stream_version,
            "global_position": self.global_position,
            "event_id": self.event_id,
            "type": self.event_type,
            "schema_version": self.schema_version,
            "who": {"actor_id": self.actor_id, "role": self.actor_role, "agency": self.agency},
            "occurred_at": self.occurred_at,
            "recorded_at": self.recorded_at,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "summary": self.summary,
            "facts": dict(self.facts),
        }


def entry_from_row(row: Sequence[Any]) -> Entry:
    """An entry from a projection row (a tuple from `row_of`, or a stored record)."""
    (
        case_id,
        recorded_at,
        service,
        _rank,
        position,
        event_id,
        stream_id,
        version,
        event_type,
        schema_version,
        actor_id,
        role,
        agency,
        occurred_at,
        correlation_id,
        causation_id,
        summary,
        facts_,
    ) = tuple(row)
    return Entry(
        case_id=case_id,
        recorded_at=iso(recorded_at),
        service=service,
        global_position=int(position),
        event_id=str(event_id),
        stream_id=stream_id,
        stream_version=int(version),
        event_type=event_type,
        schema_version=int(schema_version),
        actor_id=actor_id,
        actor_role=role,
        agency=agency,
        occurred_at=iso(occurred_at),
        correlation_id=_maybe_str(correlation_id),
        causation_id=_maybe_str(causation_id),
        summary=summary,
        facts=facts_ if isinstance(facts_, dict) else orjson.loads(facts_),
    )


def entry_of(event: RecordedEvent) -> Entry:
    return entry_from_row(row_of(event))
