"""A person's record as stored: the sealed events of their stream, opened only on a permitted
read (the read model is the stream itself, so no table holds a copy of a detail, sealed or not).

Each value is opened with the context it was sealed in (agency, stream, event id, type, schema
version, field) under the person's data key. After an erasure that key is gone: the value opens
as None and the record says it was erased; the stored bytes, and so the hash chain, are
untouched (R7).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from mend_events.contracts.catalog.hub import (
    ContactDetailsRead,
    ContactRouteRecorded,
    ContactRouteRemoved,
    PersonDetailsRecorded,
)
from mend_events.contracts.envelope import RecordedEvent
from mend_events.security.crypto import FieldSealer, is_sealed

DETAIL_FIELDS = PersonDetailsRecorded.personal_fields
ROUTE_FIELDS = ContactRouteRecorded.personal_fields


@dataclass
class StoredRecord:
    """The events that hold the person's current details and routes, and their read log."""

    details: RecordedEvent | None = None
    routes: dict[UUID, RecordedEvent] = field(default_factory=dict)  # in order of recording
    reads: list[RecordedEvent] = field(default_factory=list)


def stored_record(events: Iterable[RecordedEvent]) -> StoredRecord:
    record = StoredRecord()
    for event in events:
        kind = event.event_type
        if kind == PersonDetailsRecorded.event_type:
            record.details = event
        elif kind == ContactRouteRecorded.event_type:
            record.routes[UUID(event.data["route_id"])] = event
        elif kind == ContactRouteRemoved.event_type:
            record.routes.pop(UUID(event.data["route_id"]), None)
        elif kind == ContactDetailsRead.event_type:
            record.reads.append(event)
    return record


async def _open(sealer: FieldSealer, event: RecordedEvent) -> tuple[dict[str, Any], bool]:
    """The event's data with its sealed fields opened, and whether any of them was erased."""
    opened = await sealer.open_recorded(event, personal_owner="person_id")
    erased = any(is_sealed(v) and opened[k] is None for k, v in event.data.items())
    return opened, erased


async def open_details(sealer: FieldSealer, record: StoredRecord) -> dict[str, Any]:
    if record.details is None:
        return {"recorded": False, "erased": False, "details": dict.fromkeys(DETAIL_FIELDS)}
    opened, erased = await _open(sealer, record.details)
    return {
        "recorded": True,
        "erased": erased,
        "recorded_at": record.details.metadata.occurred_at.isoformat(),
        "details": {name: opened.get(name) for name in DETAIL_FIELDS},
    }


async def open_routes(
    sealer: FieldSealer, record: StoredRecord
) -> tuple[list[dict[str, Any]], bool]:
    """The current routes, opened; and whether any value of them was erased."""
    out, any_erased = [], False
    for route_id, event in record.routes.items():
        opened, erased = await _open(sealer, event)
        any_erased |= erased
        out.append(
            {
                "route_id": str(route_id),
                "channel": opened["channel"],
                "may_leave_messages": opened["may_leave_messages"],
                **{name: opened.get(name) for name in ROUTE_FIELDS},
            }
        )
    return out, any_erased


def read_log(record: StoredRecord) -> list[dict[str, Any]]:
    """Who read the contact details, when, why and through which case: no detail's value."""
    return [
        {
            "read_id": str(event.event_id),
            "reader_id": event.metadata.actor_id,
            "reader_role": str(event.metadata.role),
            "reader_agency": event.metadata.agency,
            "read_at": event.metadata.occurred_at.isoformat(),
            "purpose": event.data["purpose"],
            "via_case": event.data.get("via_case"),
            "routes_shown": len(event.data.get("route_ids") or ()),
        }
        for event in record.reads
    ]
