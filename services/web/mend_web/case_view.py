"""What the practitioner's case page shows, gathered from the services with the practitioner's
own token: the case (sessions), each scheduled session's gates (sessions), the consents and
their history (consent), the risk position (risk), after-care (aftercare) and the agency's
practitioners (the sessions registry, to choose a team or a sign-off from). Each service
decides what this person may see; a part it refuses or cannot answer now is shown as not
available, never guessed. The timeline is put together from these reads (no service gives the
allocated practitioner a whole-case history: the audit service is for auditors)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any

from mend_web.services import ServiceError, Services

# A part of the page a service does not give now: refused (403), not there yet (404), or
# unreachable (503). Shown as "not available".
_ABSENT = (403, 404, 405, 503)
TAKE_PART = "take_part"


async def _part(read: Awaitable[Any]) -> Any:
    try:
        return await read
    except ServiceError as exc:
        if exc.status in _ABSENT:
            return None
        raise


async def gates(svc: Services, token: str, case: Mapping[str, Any]) -> dict[str, Any]:
    """Each scheduled session's gates as the sessions service evaluates them now."""
    scheduled = [s["session_id"] for s in case.get("sessions", []) if s["status"] == "scheduled"]
    found = await asyncio.gather(
        *(_part(svc.gates(token, case["case_id"], sid)) for sid in scheduled)
    )
    return {sid: g for sid, g in zip(scheduled, found, strict=True) if g}


async def load(svc: Services, token: str, case_id: str) -> dict[str, Any]:
    """The page's context. The case itself must be readable (its refusal is the page's)."""
    case = await svc.case(token, case_id)
    consents, history, risk, aftercare, registry, gate_map, meetings = await asyncio.gather(
        _part(svc.consents(token, case_id)),
        _part(svc.consent_history(token, case_id)),
        _part(svc.risk(token, case_id)),
        _part(svc.aftercare(token, case_id)),
        _part(svc.registry(token)),
        gates(svc, token, case),
        _part(svc.meetings(token, case_id)),
    )
    grants = list((consents or {}).get("grants", []))
    people = participants(case, grants)
    return {
        "case": case,
        "gates": gate_map,
        "people": people,
        "consents": None if consents is None else matrix(case, people, grants),
        "risk": risk,
        "aftercare": aftercare,
        "registry": registry or [],
        "meetings": meetings,
        "timeline": timeline(case, (history or {}).get("events", []), risk),
    }


def participants(case: Mapping[str, Any], grants: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Everyone taking part, harmed person first, each with their role (as their consents record
    it; the harmed and responsible person as the case records them)."""
    roles = {g["participant_id"]: g["participant_role"] for g in grants}
    ids: list[str] = [case.get("harmed_person_id") or ""]
    ids += [case.get("responsible_person_id") or ""]
    ids += list(case.get("invited", [])) + sorted(roles)
    out: list[dict[str, str]] = []
    for pid in dict.fromkeys(i for i in ids if i):
        if pid == case.get("harmed_person_id"):
            role = "harmed_person"
        elif pid == case.get("responsible_person_id"):
            role = "responsible_person"
        else:
            role = roles.get(pid, "supporter")
        out.append({"id": pid, "role": role})
    return out


def matrix(
    case: Mapping[str, Any], people: list[dict[str, str]], grants: list[dict[str, Any]]
) -> dict[str, Any]:
    """Each participant by each scope: the grant in force (when given), or none."""
    forms = (case.get("preferences") or {}).get("permitted_forms", [])
    scopes = [TAKE_PART, *(f"contact:{f}" for f in forms)]
    scopes += sorted({g["scope"] for g in grants} - set(scopes))
    given = {(g["participant_id"], g["scope"]): g for g in grants}
    rows = [
        {"person": p, "cells": [given.get((p["id"], scope)) for scope in scopes]} for p in people
    ]
    return {"scopes": scopes, "rows": rows}


def _entry(at: Any, who: str | None, role: str | None, what: str, **more: Any) -> dict[str, Any]:
    return {"at": str(at or ""), "who": who or "", "role": role or "", "what": what, **more}


def timeline(
    case: Mapping[str, Any], consent_events: list[dict[str, Any]], risk: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """Who did what, in which role, when, and what it caused (a halt names its cause), newest
    first: the consent history, the sessions' starts, ends and halts, risk decisions and flags."""
    halts = {s["halt"]["cause_event_id"]: s for s in case.get("sessions", []) if s.get("halt")}
    out = []
    for e in consent_events:
        data, actor = e.get("data") or {}, e.get("actor") or {}
        caused = halts.get(e.get("event_id"))
        out.append(
            _entry(
                e.get("occurred_at"),
                actor.get("id"),
                actor.get("role"),
                e["type"],
                scope=data.get("scope"),
                caused=caused,
            )
        )
    for s in case.get("sessions", []):
        if s.get("started_at"):
            out.append(
                _entry(
                    s["started_at"],
                    s["facilitator_id"],
                    "practitioner",
                    "SessionStarted",
                    session=s,
                )
            )
        halt = s.get("halt")
        if halt:
            out.append(
                _entry(
                    halt["at"],
                    halt["halted_by_id"],
                    halt["halted_by_role"],
                    "SessionHalted",
                    session=s,
                    cause=halt["cause"],
                )
            )
        elif s.get("ended_at"):
            out.append(
                _entry(
                    s["ended_at"],
                    s["facilitator_id"],
                    "practitioner",
                    "SessionCompleted",
                    session=s,
                )
            )
    assessment = (risk or {}).get("assessment")
    if assessment:
        out.append(
            _entry(
                assessment["completed_at"],
                assessment["signed_off_by"],
                "practitioner",
                "RiskAssessmentCompleted",
                decision=assessment["decision"],
            )
        )
    for f in (risk or {}).get("flags", []):
        out.append(
            _entry(
                f["raised_at"],
                f["raised_by"],
                "practitioner",
                "RiskFlagRaised",
                severity=f["severity"],
                category=f["category"],
            )
        )
    return sorted(out, key=lambda x: x["at"], reverse=True)
