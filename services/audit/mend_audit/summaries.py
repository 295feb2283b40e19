"""Short, safe words for each event: built only from codes, dates and pseudonymous ids.

A personal field (named in the event model's `personal_fields`, sealed in the store) never
enters a summary or the facts an auditor sees: at most the marker `[sealed]` says that such a
field holds something. Summaries read the stored data as it is (no decoding), so they are cheap
enough to replay millions of events, and an event type this module does not know still gets a
summary made of its non-personal scalar fields. The words for each known type are in
`summary_words.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The catalog registers every service's event models: their personal fields are known here
# even in a process that imports no service (the replay, the projection, the command line).
import mend_events.contracts.catalog  # noqa: F401
from mend_events.contracts.events import registry
from mend_events.security.crypto import is_sealed

from mend_audit.summary_words import SEALED, SUMMARIES, Data, short


def personal_fields(event_type: str) -> frozenset[str]:
    if not registry.knows(event_type):
        return frozenset()
    return frozenset(registry.model(event_type).personal_fields)


_PERSONAL: dict[str, frozenset[str]] = {}


def _personal(event_type: str) -> frozenset[str]:
    found = _PERSONAL.get(event_type)
    if found is None:
        found = _PERSONAL[event_type] = personal_fields(event_type)
    return found


def facts(event_type: str, data: Data) -> dict[str, Any]:
    """The event's data without personal content: each personal or sealed value is replaced by
    `[sealed]` (None stays None: nothing was given)."""
    personal = _personal(event_type)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is not None and (key in personal or is_sealed(value)):
            out[key] = SEALED
        else:
            out[key] = value
    return out


def withholds(event_type: str, data: Data) -> bool:
    """Whether `facts` differs from the data. A known type can hold personal content only in its
    declared personal fields (the store seals exactly those); an unknown type is searched."""
    if registry.knows(event_type):
        return any(data.get(k) is not None for k in _personal(event_type))
    return any(is_sealed(v) for v in data.values())


def summarise(event_type: str, data: Data) -> str:
    """One line about the event, from codes and ids only."""
    make = SUMMARIES.get(event_type)
    if make is not None:
        try:
            return make(data)
        except (AttributeError, KeyError, TypeError, ValueError):
            pass  # a shape this reader does not know: fall back to the generic words
    return _generic(event_type, data)


def _kind(event_type: str) -> tuple[Callable[[Data], str] | None, tuple[str, ...] | None]:
    """What the replay needs to know of a type: its summary and, for a known type, its personal
    fields, looked up once (None: a type the registry does not know, whose every value is
    searched, as `withholds` does; not remembered, since it may be registered later)."""
    found = _KINDS.get(event_type)
    if found is None:
        if not registry.knows(event_type):
            return SUMMARIES.get(event_type), None
        found = _KINDS[event_type] = (SUMMARIES.get(event_type), tuple(_personal(event_type)))
    return found


_KINDS: dict[str, tuple[Callable[[Data], str] | None, tuple[str, ...] | None]] = {}


def summary_and_facts(event_type: str, data: Data) -> tuple[str, dict[str, Any] | None]:
    """`summarise(event_type, data)` and, only when `withholds(event_type, data)`,
    `facts(event_type, data)` (else None: the facts are the data as stored). The same values
    as those three functions, with one look-up of the type: what a replay of millions calls."""
    make, personal = _kind(event_type)
    summary = None
    if make is not None:
        try:
            summary = make(data)
        except (AttributeError, KeyError, TypeError, ValueError):
            pass
    if summary is None:
        summary = _generic(event_type, data)
    if personal is None:
        withheld = any(is_sealed(v) for v in data.values())
    elif personal:
        get = data.get
        withheld = any(get(k) is not None for k in personal)
    else:
        withheld = False
    return summary, (facts(event_type, data) if withheld else None)


def _generic(event_type: str, data: Data) -> str:
    safe = facts(event_type, data)
    parts = [
        f"{k}={short(v)}"
        for k, v in sorted(safe.items())
        if isinstance(v, str | int | bool) and v != SEALED
    ]
    return (event_type + (": " + ", ".join(parts[:6]) if parts else ""))[:240]
