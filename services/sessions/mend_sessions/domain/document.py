"""The case as the API shows it (the `case_states` read model's document): a pure rendering of
the case's state and its history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mend_events.contracts.catalog.sessions import SessionHalted
from mend_events.contracts.envelope import RecordedEvent

from mend_sessions.domain.state import CaseState


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def case_document(state: CaseState, history: Sequence[RecordedEvent]) -> dict[str, Any]:
    """The case as the API shows it: codes, ids and times only (no free text exists here)."""
    halts: dict[str, dict[str, Any]] = {}
    for e in history:
        if e.event_type == SessionHalted.event_type:
            h = e.decode()
            assert isinstance(h, SessionHalted)
            halts.setdefault(
                h.session_id,
                {
                    "event_id": str(e.event_id),
                    "at": e.metadata.occurred_at.isoformat(),
                    "cause": str(h.cause),
                    "cause_event_id": str(h.cause_event_id) if h.cause_event_id else None,
                    "halted_by_id": h.halted_by_id,
                    "halted_by_role": str(h.halted_by_role),
                },
            )
    opened = state.opened
    prefs = state.preferences
    return {
        "case_id": state.case_id,
        "version": history[-1].stream_version if history else 0,
        "status": str(state.status),
        "agency": opened.agency if opened else None,
        "harm_category": str(opened.harm_category) if opened else None,
        "justice_stage": str(opened.justice_stage) if opened else None,
        "route": str(opened.route) if opened else None,
        "harmed_person_id": state.harmed_person_id,
        "invited": sorted(state.invited),
        "facilitator_id": state.facilitator_id,
        "responsible_person_id": state.responsible_person_id,
        "preferences": {
            "min_gap_days": prefs.min_gap_days,
            "permitted_forms": sorted(str(f) for f in prefs.permitted_forms),
            "speaks_first": prefs.speaks_first,
            "responsible_person_takes_part": prefs.responsible_person_takes_part,
            "invited": sorted(prefs.invited),
            "progress_updates": prefs.progress_updates,
        },
        "paused": state.paused,
        "paused_for": sorted(str(r) for r in state.paused_for),
        "prepared": sorted(state.prepared),
        "sessions": [
            {
                "session_id": s.id,
                "form": str(s.form),
                "participants": [{"id": p.id, "role": str(p.role)} for p in s.participants],
                "facilitator_id": s.facilitator_id,
                "team": list(s.team),
                "scheduled_for": _iso(s.scheduled_for),
                "speaks_first": s.speaks_first,
                "status": str(s.status),
                "started_at": _iso(s.started_at),
                "ended_at": _iso(s.ended_at),
                "halt": halts.get(s.id),
            }
            for s in sorted(state.sessions.values(), key=lambda s: (s.scheduled_for, s.id))
        ],
        "referrals": [
            {**r.model_dump(mode="json"), "outcome": outcome}
            for r, outcome in sorted(state.referrals.values(), key=lambda x: x[0].referral_id)
        ],
        "responsible_person_outcome": (
            state.rp_outcome.model_dump(mode="json") if state.rp_outcome else None
        ),
        "agreements": [
            {
                "session_id": a.session_id,
                "items": [i.model_dump(mode="json") for i in a.items],
                "consented_by": list(a.consented_by),
            }
            for a in state.agreements.values()
        ],
    }
