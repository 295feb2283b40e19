"""Kafka messages are CloudEvents 1.0 in binary mode: attributes in `ce_` headers, the event's
data (personal fields already sealed) as the JSON body, the case id as key and `subject`."""

from __future__ import annotations

import re
from datetime import datetime
from uuid import UUID

import orjson

from mend_events.contracts.actors import Role
from mend_events.contracts.envelope import Metadata, RecordedEvent
from mend_events.errors import MendError

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


# What a consumed message's attributes may look like. Anything else is refused as malformed,
# naming the attribute and never its value (which may quote personal data).
_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")  # stream, case, actor, agency
_EVENT_TYPE = re.compile(r"^[A-Z][A-Za-z0-9]{0,79}$")
_SERVICE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def _attr(h: dict[str, str], name: str, parse=str, pattern: re.Pattern[str] | None = None):
    """Header `name`, matched against `pattern` and parsed by `parse`; MalformedMessage naming
    the attribute (never its value) when it is absent or does not fit."""
    raw = h.get(name)
    if raw is None:
        raise MalformedMessage("a required CloudEvent attribute is missing", field=name)
    if pattern is not None and not pattern.match(raw):
        raise MalformedMessage("a CloudEvent attribute is not well-formed", field=name)
    try:
        return parse(raw)
    except (ValueError, TypeError):
        raise MalformedMessage("a CloudEvent attribute is not well-formed", field=name) from None


def from_message(value: bytes | None, headers: list[tuple[str, bytes]] | tuple) -> RecordedEvent:
    """Parse a consumed message back into a RecordedEvent; MalformedMessage if it is not one.
    Every id and code is checked for its shape here, so that nothing a forger puts into an
    attribute travels further (into a dead letter, a log line or an audit report)."""
    try:
        h = {k: v.decode() for k, v in headers}
    except (UnicodeDecodeError, AttributeError, ValueError):
        raise MalformedMessage("a CloudEvent attribute is not UTF-8", field="headers") from None
    if h.get("ce_specversion") != SPEC_VERSION:
        raise MalformedMessage("not a CloudEvents 1.0 message", field="ce_specversion")
    source = _attr(h, "ce_source")
    service = source.rsplit("/", 1)[-1]
    if source != f"/mend/{service}" or not _SERVICE.match(service):
        raise MalformedMessage("a CloudEvent attribute is not well-formed", field="ce_source")
    prefix = ce_type(service, "")
    full_type = _attr(h, "ce_type")
    if not full_type.startswith(prefix):
        raise MalformedMessage("type does not match source", field="ce_type")
    event_type = full_type[len(prefix) :]
    if not _EVENT_TYPE.match(event_type):
        raise MalformedMessage("a CloudEvent attribute is not well-formed", field="ce_type")
    try:
        data = orjson.loads(value) if value else None
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise MalformedMessage("body is not a JSON object", field="data")
    causation = h.get("ce_causationid")
    return RecordedEvent(
        global_position=_attr(h, "ce_position", _count),
        stream_id=_attr(h, "ce_streamid", pattern=_IDENT),
        stream_version=_attr(h, "ce_streamversion", _count),
        event_id=_attr(h, "ce_id", UUID),
        event_type=event_type,
        schema_version=_attr(h, "ce_schemaversion", _count),
        data=data,
        metadata=Metadata(
            actor_id=_attr(h, "ce_actorid", pattern=_IDENT),
            role=_attr(h, "ce_actorrole", Role),
            agency=_attr(h, "ce_agency", pattern=_IDENT),
            correlation_id=_attr(h, "ce_correlationid", UUID),
            causation_id=_attr(h, "ce_causationid", UUID) if causation else None,
            occurred_at=_attr(h, "ce_time", _moment),
        ),
        recorded_at=_attr(h, "ce_recordedtime", _moment),
        case_id=_attr(h, "ce_subject", pattern=_IDENT),
        service=service,
    )


def _count(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise ValueError("not a count")
    return int(raw)


def _moment(raw: str) -> datetime:
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        raise ValueError("a time without its zone")
    return moment
