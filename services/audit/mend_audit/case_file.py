"""The whole case file of one case: its timeline and halts (`history`) with its state as of a
moment (`state`, each service's own fold). Kept apart from both so that `state` may use
`history`'s spellings without the two importing each other."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mend_events.contracts.envelope import RecordedEvent

from mend_audit.entries import entry_of, iso
from mend_audit.history import CaseHistory
from mend_audit.state import case_state


def document(
    case_id: str,
    events: Sequence[RecordedEvent],
    *,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """The whole case file: timeline, halts and the state as of a moment (by default the last
    recorded event, never the clock). `events` are the case's replayed events; those recorded
    after `as_of` are left out here too."""
    if as_of is not None:
        events = [e for e in events if e.recorded_at <= as_of]
    history = CaseHistory(
        case_id, (entry_of(e) for e in events), as_of=iso(as_of) if as_of else None
    )
    moment = as_of or (max(e.recorded_at for e in events) if events else None)
    return {
        "case_id": case_id,
        "as_of": history.as_of,
        "state_as_of": iso(moment) if moment else None,
        "agency": history.agency,
        "events": len(history),
        "timeline": history.timeline(),
        "halts": history.halts(),
        "state": case_state(events, moment) if moment else None,
    }
