"""What a consumer makes of a failure: poison (retrying cannot help: dead-lettered at once) or
transient (our infrastructure: retried without counting), described by kind and field, never by
a value; and the dead letter's headers, which carry only what has the shape of an id."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import asyncpg

from mend_events.contracts.events import InvalidEvent, UnknownEvent
from mend_events.errors import MendError
from mend_events.messaging.cloudevents import MalformedMessage

# Deterministic failures: retrying cannot help, so they go to the dead-letter topic at once.
POISON = (MalformedMessage, InvalidEvent, UnknownEvent)
# Infrastructure faults: not the message's fault, so they are retried without counting.
TRANSIENT = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)


def error_kinds(exc: BaseException) -> list[tuple[str, str]]:
    """(kind, field path) of each problem an error names: a contract's refusal lists pydantic's
    error types and locations, one of our errors its code and field, anything else nothing."""
    if isinstance(exc, InvalidEvent):
        return list(exc.problems)
    if isinstance(exc, MendError):
        return [(exc.code, exc.field or "")]
    return []


def describe_error(exc: BaseException) -> str:
    """An error as it may appear in a dead letter or a log: its type, and the kind of each
    problem with the field it concerns (`InvalidEvent: missing at n`). Never a message: ours
    and foreign ones alike can quote the values sent, which may be personal."""
    kinds = error_kinds(exc)
    if not kinds:
        return type(exc).__name__
    named = ", ".join(f"{kind} at {path}" if path else kind for kind, path in kinds[:10])
    return f"{type(exc).__name__}: {named}"


_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_CE_TYPE = re.compile(r"^org\.mend\.[a-z][a-z0-9_]{0,31}\.[A-Z][A-Za-z0-9]{0,79}$")
_SOURCE = re.compile(r"^/mend/[a-z][a-z0-9_]{0,31}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# The attributes a dead letter keeps, each only when it has the shape of what it names.
_KEPT = {
    "ce_id": _UUID,
    "ce_type": _CE_TYPE,
    "ce_source": _SOURCE,
    "ce_subject": _ID,
    "ce_streamid": _ID,
    "ce_correlationid": _UUID,
    "ce_causationid": _UUID,
    "ce_schemaversion": re.compile(r"^[0-9]{1,9}$"),
    "ce_streamversion": re.compile(r"^[0-9]{1,19}$"),
}


def _trustworthy_ids(headers: Any) -> dict[str, str]:
    kept = {}
    for name, value in headers:
        pattern = _KEPT.get(name)
        if pattern is None or not isinstance(value, bytes):
            continue
        text = value.decode(errors="replace")
        if pattern.match(text):
            kept[name] = text
    return kept


def dead_letter_key(raw: Any) -> bytes | None:
    """The message's key, kept only when it has the shape of an id."""
    return raw.key if raw.key and _ID.match(raw.key.decode(errors="replace")) else None


def dead_letter_headers(raw: Any, exc: BaseException, consumer: str, attempts: int) -> dict:
    """What an operator needs to find and judge the message, and nothing it said: the
    well-formed ids and type, where it was, and the kinds of error with their field paths. The
    body stays out (only its digest travels); the original is still on its topic at the offset
    named, for anyone entitled to read it there."""
    return {
        **_trustworthy_ids(raw.headers or ()),
        "dlq_error": describe_error(exc),
        "dlq_consumer": consumer,
        "dlq_source_topic": raw.topic,
        "dlq_source_partition": str(raw.partition),
        "dlq_source_offset": str(raw.offset),
        "dlq_attempts": str(attempts),
        "dlq_body_sha256": hashlib.sha256(raw.value or b"").hexdigest(),
    }
