"""The state of a case as of a moment, folded by each service's own `decider.fold` and rendered
as plain data (sorted keys, sets sorted, times in UTC): consents in force, the risk decision
that governs contact, sessions, after-care.

The folds are the services' pure domains, so the audit sees exactly what each service would
have decided on at that moment. An event a fold cannot read (an unknown type or version) is
listed under `unreadable` rather than stopping the replay.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

import orjson
from mend_aftercare.domain import decider as aftercare_decider
from mend_consent import domain as consent
from mend_events.commands.decider import Decider
from mend_events.contracts.envelope import RecordedEvent
from mend_events.contracts.events import DomainEvent, Sealed
from mend_events.errors import MendError
from mend_events.security.crypto import is_sealed
from mend_hub.domain import decider as hub_decider
from mend_risk import domain as risk
from mend_sessions.domain import decider as sessions_decider
from pydantic import BaseModel

from mend_audit.entries import iso
from mend_audit.replay import service_rank
from mend_audit.summaries import SEALED

DECIDERS: dict[str, Decider[Any]] = {
    "consent": consent.decider,
    "risk": risk.decider,
    "sessions": sessions_decider,
    "aftercare": aftercare_decider,
    "hub": hub_decider,  # the case's allocations
}
# Shown only for a case they hold events of: the hub's allocations (a case may have none yet).
WHEN_PRESENT = frozenset({"hub"})

# Answers that belong to the harmed person alone: an audit sees that they were given, not what.
_WITHHELD = {("aftercare", "outcomes")}


def plain(value: Any) -> Any:
    """JSON-ready data with one spelling for everything: deterministic, no personal text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Sealed) or is_sealed(value):
        return SEALED
    if isinstance(value, BaseModel):
        return _model(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {_key(k): plain(v) for k, v in sorted(value.items(), key=lambda kv: _key(kv[0]))}
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=_canonical)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return str(value)


def _model(model: BaseModel) -> dict[str, Any]:
    personal = set(getattr(model, "personal_fields", ()))
    out = {}
    for name in type(model).model_fields:
        v = getattr(model, name)
        out[name] = SEALED if name in personal and v is not None else plain(v)
    return out


def _key(key: Any) -> str:
    if isinstance(key, tuple):
        return "/".join(str(plain(k)) for k in key)
    return str(plain(key))


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


# --- what each service's state means at the moment asked ------------------------------------


def _consent_now(state: consent.ConsentState, at: datetime) -> dict[str, Any]:
    return {
        "in_force": [
            {
                "grant_id": str(g.grant_id),
                "participant_id": g.participant_id,
                "participant_role": plain(g.participant_role),
                "scope": g.scope,
                "given_at": iso(g.given_at),
                "expires_at": iso(g.expires_at) if g.expires_at else None,
            }
            for g in consent.active_grants(state, at=at)
        ],
        "acknowledgements_standing": sorted(
            rp for rp in state.acknowledgements if consent.acknowledgement_stands(state, rp)
        ),
    }


def _risk_now(state: risk.RiskState, at: datetime) -> dict[str, Any]:
    governing = risk.governing_decision(state, at)
    return {
        "governing_decision": plain(governing) if governing else None,
        "unresolved_flags": [plain(f) for f in risk.unresolved_flags(state, at)],
        "reassessment_due": risk.reassessment_due(state),
    }


_NOW: dict[str, Callable[[Any, datetime], dict[str, Any]]] = {
    "consent": _consent_now,
    "risk": _risk_now,
}


def case_state(events: Sequence[RecordedEvent], at: datetime) -> dict[str, Any]:
    """Each service's fold of the case as recorded by `at`, as plain data."""
    by_service: dict[str, list[RecordedEvent]] = {}
    for e in events:
        if e.recorded_at <= at:
            by_service.setdefault(e.service, []).append(e)
    out: dict[str, Any] = {}
    unreadable: list[dict[str, Any]] = []
    for service in sorted(DECIDERS, key=service_rank):
        decider = DECIDERS[service]
        mine = sorted(by_service.get(service, ()), key=lambda e: (e.stream_id, e.stream_version))
        if not mine and service in WHEN_PRESENT:
            continue
        history: list[tuple[DomainEvent, Any]] = []
        for e in mine:
            try:
                history.append((e.decode(), e.metadata))
            except (MendError, ValueError, KeyError) as exc:
                unreadable.append(
                    {
                        "service": service,
                        "stream_id": e.stream_id,
                        "stream_version": e.stream_version,
                        "type": e.event_type,
                        "error": type(exc).__name__,
                    }
                )
        stream = mine[0].stream_id if mine else ""
        state = decider.fold(stream, history)
        rendered = plain(state)
        if isinstance(rendered, dict):
            rendered.pop("case_id", None)
            for svc, name in _WITHHELD:
                if svc == service and isinstance(rendered.get(name), dict):
                    rendered[name] = sorted(rendered[name])  # which were answered, not how
        now = _NOW.get(service)
        out[service] = {
            "events": len(mine),
            **({} if now is None else now(state, at)),
            "state": rendered,
        }
    out["unreadable"] = unreadable
    return out
