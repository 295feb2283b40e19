"""Kafka messages are CloudEvents 1.0 in binary mode: attributes in `ce_` headers, the event's
data (personal fields already sealed) as the JSON body, the case id as key and `subject`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import orjson

from mend_events.envelope import Metadata, RecordedEvent
from mend_events.errors import MendError
from mend_events.identity_types import Role

SPEC_VERSION = "1.0"
TYPE_PREFIX = "org.mend."


class MalformedMessage(MendError):
    """A message that is not a Mend CloudEvent: it goes to the dead-letter topic at once."""

    code = "malformed_message"


def ce_type(service: str, event_type: str) -> str:
    return f"{TYPE_PREFIX}{service}.{event_type}"


def to_message(event: RecordedEvent) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) for one stored event.

    The metadata attributes are the stored metadata's own strings (what `Metadata.to_json`
    wrote, the same text parsing and formatting again would give), so a relay publishing
    millions of events never parses ids and times."""
    m = event.raw_metadata
    service = event.service
    headers = [
        ("ce_specversion", _SPEC_VERSION),
        ("ce_id", str(event.event_id).encode()),
        ("ce_source", f"/mend/{service}".encode()),
        ("ce_type", f"{TYPE_PREFIX}{service}.{event.event_type}".encode()),
        ("ce_time", m["occurred_at"].encode()),
        ("ce_subject", event.case_id.encode()),
        ("ce_correlationid", m["correlation_id"].encode()),
        ("ce_schemaversion", str(event.schema_version).encode()),
        ("ce_streamid", event.stream_id.encode()),
        ("ce_streamversion", str(event.stream_version).encode()),
        ("ce_position", str(event.global_position).encode()),
        ("ce_recordedtime", event.recorded_at.isoformat().encode()),
        ("ce_agency", m["agency"].encode()),
        ("ce_actorid", m["actor_id"].encode()),
        ("ce_actorrole", m["role"].encode()),
        ("content-type", b"application/json"),
    ]
    causation = m.get("causation_id")
    if causation:
        headers.append(("ce_causationid", causation.encode()))
    return event.case_id.encode(), orjson.dumps(event.data), headers


_SPEC_VERSION = SPEC_VERSION.encode()


def from_message(value: bytes | None, headers: list[tuple[str, bytes]] | tuple) -> RecordedEvent:
    """Parse a consumed message back into a RecordedEvent; MalformedMessage if it is not one."""
    try:
        h = {k: v.decode() for k, v in headers}
        if h.get("ce_specversion") != SPEC_VERSION:
            raise MalformedMessage("not a CloudEvents 1.0 message", field="ce_specversion")
        source = h["ce_source"]
        service = source.rsplit("/", 1)[-1]
        prefix = ce_type(service, "")
        if not h["ce_type"].startswith(prefix):
            raise MalformedMessage("type does not match source", field="ce_type")
        data = orjson.loads(value) if value else None
        if not isinstance(data, dict):
            raise MalformedMessage("body is not a JSON object", field="data")
        causation = h.get("ce_causationid")
        return RecordedEvent(
            global_position=int(h["ce_position"]),
            stream_id=h["ce_streamid"],
            stream_version=int(h["ce_streamversion"]),
            event_id=UUID(h["ce_id"]),
            event_type=h["ce_type"][len(prefix) :],
            schema_version=int(h["ce_schemaversion"]),
            data=data,
            metadata=Metadata(
                actor_id=h["ce_actorid"],
                role=Role(h["ce_actorrole"]),
                agency=h["ce_agency"],
                correlation_id=UUID(h["ce_correlationid"]),
                causation_id=UUID(causation) if causation else None,
                occurred_at=datetime.fromisoformat(h["ce_time"]),
            ),
            recorded_at=datetime.fromisoformat(h["ce_recordedtime"]),
            case_id=h["ce_subject"],
            service=service,
        )
    except MalformedMessage:
        raise
    except (KeyError, ValueError, UnicodeDecodeError, orjson.JSONDecodeError) as exc:
        raise MalformedMessage(f"unreadable CloudEvent: {type(exc).__name__}: {exc}") from None
