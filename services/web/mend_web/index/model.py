"""One case's entry in the web app's case index, and how each event changes it: a pure fold
(`evolve`) over the five services' events, in whatever order the topics deliver them.

Across topics there is no order (a case's allocation may arrive before its opening, an
after-care offer before the halt that caused it), so every derived fact is computed from sets
that commute: grants in force, open flags, offers by cause. The entry is a JSON-able dict of
pseudonymous ids, codes and times only (no personal data exists in it)."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from mend_events.contracts.catalog.aftercare import SUPPORT_STREAM
from mend_events.contracts.envelope import RecordedEvent
from mend_events.contracts.stages import furthest

Entry = dict[str, Any]

# Kinds of due items and of gates (codes; the pages translate them).
DUE_KINDS = ("reassessment", "check_in", "consent_lapsing", "commitment", "flag", "aftercare")
GATES = (
    "paused", "consent_missing", "consent_withdrawn", "risk_decision_missing", "risk_unsuitable",
    "flag_open", "halted_awaiting_aftercare",
)  # fmt: skip
_ENDED_GRANT = {"ConsentWithdrawn", "ConsentInvalidated"}


def empty(case_id: str) -> Entry:
    return {
        "case_id": case_id,
        "agency": None,
        "opened": False,
        "harm_category": None,
        "stage": None,
        "paused": False,
        "closed": False,
        "last_activity": None,
        "practitioners": [],
        "participants": {},  # person id -> role
        "harmed_person": None,
        "grants": {},  # grant id -> {"p": participant, "until": expiry or None}
        "withdrew": [],  # participants who withdrew a scope (and hold no grant since)
        "decision": None,
        "valid_until": None,
        "reassess_since": None,
        "flags": {},  # flag id -> raised at
        "halts": {},  # halt event id -> {"at", "cause"}
        "offered": [],  # event ids an after-care offer names as its cause or root
        "check_ins": {},  # id -> due at
        "commitments": {},  # id -> due on
    }


def case_of(event: RecordedEvent) -> str | None:
    """The case an event is about: the hub's allocations name it in their data; the case
    services' events are on the case's stream. Other hub events are about no case, nor are
    aftercare's support plans without a case (streams `support:<agency>:<person>`)."""
    if event.service == "hub":
        return event.data.get("case_id") if event.event_type in _ALLOCATION else None
    if event.case_id.startswith(SUPPORT_STREAM):
        return None
    return event.case_id or None


_ALLOCATION = {"CaseAllocated", "CaseDeallocated"}


def evolve(entry: Entry, event: RecordedEvent) -> Entry:
    """The entry after `event` (a new dict; `entry` is not changed)."""
    e = copy.deepcopy(entry)
    d, kind = event.data, event.event_type
    at = event.metadata.occurred_at.isoformat()
    if e["last_activity"] is None or at > e["last_activity"]:
        e["last_activity"] = at
    if e["agency"] is None:
        e["agency"] = d.get("agency_id") or event.metadata.agency
    e["stage"] = furthest(e["stage"], kind)
    handler = _HANDLERS.get(kind)
    if handler is not None:
        handler(e, d, event, at)
    return e


def _opened(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    e.update(opened=True, agency=d["agency"], harm_category=d["harm_category"])
    e["harmed_person"] = d["harmed_person_id"]
    e["participants"][d["harmed_person_id"]] = "harmed_person"


def _invited(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    e["harm_category"] = e["harm_category"] or d.get("harm_category")
    e["harmed_person"] = e["harmed_person"] or d["harmed_person_id"]
    e["participants"].setdefault(d["harmed_person_id"], "harmed_person")


def _enrolled(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    e["participants"][d["person_id"]] = d["role"]


def _allocated(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    if d["practitioner_id"] not in e["practitioners"]:
        e["practitioners"].append(d["practitioner_id"])


def _deallocated(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    if d["practitioner_id"] in e["practitioners"]:
        e["practitioners"].remove(d["practitioner_id"])


def _paused(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    e["paused"] = event.event_type == "CasePaused"


def _closed(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    e["closed"] = True


def _consent_given(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    who = d["participant_id"]
    e["grants"][str(d["grant_id"])] = {"p": who, "until": d.get("expires_at")}
    e["participants"].setdefault(who, d.get("participant_role"))
    if who in e["withdrew"]:
        e["withdrew"].remove(who)


def _grants_ended(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    ended = [str(g["grant_id"]) for g in d.get("grants", ())] or [str(d.get("grant_id"))]
    for grant in ended:
        e["grants"].pop(grant, None)
    who = d["participant_id"]
    if event.event_type in _ENDED_GRANT and who not in e["withdrew"]:
        if not any(g["p"] == who for g in e["grants"].values()):
            e["withdrew"].append(who)


def _assessed(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    e.update(decision=d["decision"], valid_until=d["valid_until"], reassess_since=None)


def _reassess(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    e["reassess_since"] = e["reassess_since"] or at


def _flag(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    if event.event_type == "RiskFlagRaised":
        e["flags"].setdefault(str(d["flag_id"]), at)
    else:
        e["flags"][str(d["flag_id"])] = None  # resolved (kept, so a late raise stays resolved)


def _halted(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    cause = d.get("cause_event_id")
    e["halts"][str(event.event_id)] = {"at": at, "cause": str(cause) if cause else None}


def _offered(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    for named in (d.get("cause_event_id"), d.get("root_cause_event_id")):
        if named and str(named) not in e["offered"]:
            e["offered"].append(str(named))


def _check_in(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    if event.event_type == "CheckInScheduled":
        e["check_ins"].setdefault(str(d["check_in_id"]), d["due_at"])
    else:
        e["check_ins"][str(d["check_in_id"])] = None


def _commitment(e: Entry, d: dict, event: RecordedEvent, at: str) -> None:
    if event.event_type == "CommitmentRecorded":
        e["commitments"].setdefault(str(d["commitment_id"]), d.get("due_on"))
    else:
        e["commitments"][str(d["commitment_id"])] = None


_HANDLERS = {
    "CaseOpened": _opened,
    "InvitationRecorded": _invited,
    "ParticipantEnrolled": _enrolled,
    "CaseAllocated": _allocated,
    "CaseDeallocated": _deallocated,
    "CasePaused": _paused,
    "CaseResumed": _paused,
    "CaseClosed": _closed,
    "AftercareClosed": _closed,
    "ConsentGiven": _consent_given,
    "ConsentWithdrawn": _grants_ended,
    "ConsentInvalidated": _grants_ended,
    "ConsentLapsed": _grants_ended,
    "RiskAssessmentCompleted": _assessed,
    "RiskReassessmentDue": _reassess,
    "RiskFlagRaised": _flag,
    "RiskFlagResolved": _flag,
    "SessionHalted": _halted,
    "AftercareOffered": _offered,
    "CheckInScheduled": _check_in,
    "CheckInCompleted": _check_in,
    "CheckInMissed": _check_in,
    "CommitmentRecorded": _commitment,
    "CommitmentCompleted": _commitment,
    "CommitmentNotCompleted": _commitment,
}
# Every event type the index reads, by service (its subscription's declaration).
TYPES: dict[str, tuple[str, ...]] = {
    "sessions": (
        "CaseOpened", "InvitationRecorded", "ParticipantEnrolled", "CasePaused", "CaseResumed",
        "CaseClosed", "PreparationSessionHeld", "SessionScheduled", "SessionStarted",
        "SessionHalted", "SessionCompleted", "AgreementReached", "FacilitatorChosen",
        "PreferencesSet",
    ),
    "consent": (
        "ConsentGiven", "ConsentWithdrawn", "ConsentInvalidated", "ConsentLapsed",
        "AcknowledgementRecorded", "AcknowledgementWithdrawn",
    ),
    "risk": (
        "RiskAssessmentStarted", "RiskAssessmentCompleted", "RiskReassessmentDue",
        "RiskFlagRaised", "RiskFlagResolved", "RiskFactorRecorded", "SafetyPlanAgreed",
    ),
    "aftercare": (
        "AftercareOffered", "AftercareAccepted", "AftercareDeclined", "AftercareClosed",
        "CheckInScheduled", "CheckInCompleted", "CheckInMissed", "CommitmentRecorded",
        "CommitmentCompleted", "CommitmentNotCompleted", "CommitmentProgressed", "ReferralMade",
    ),
    "hub": tuple(_ALLOCATION),
}  # fmt: skip


def _awaiting_aftercare(e: Entry) -> list[tuple[str, str]]:
    offered = set(e["offered"])
    return [
        (halt, h["at"])
        for halt, h in e["halts"].items()
        if halt not in offered and (h["cause"] is None or h["cause"] not in offered)
    ]


def gates(e: Entry) -> list[str]:
    """The open gates and blockers the events show (codes, in `GATES` order)."""
    hp = e["harmed_person"]
    held = {g["p"] for g in e["grants"].values()}
    found = {
        "paused": e["paused"],
        "consent_missing": hp is not None and hp not in held and hp not in e["withdrew"],
        "consent_withdrawn": bool(e["withdrew"]),
        "risk_decision_missing": e["decision"] is None,
        "risk_unsuitable": e["decision"] == "do_not_proceed",
        "flag_open": any(v is not None for v in e["flags"].values()),
        "halted_awaiting_aftercare": bool(_awaiting_aftercare(e)),
    }
    return [] if e["closed"] else [g for g in GATES if found[g]]


def due_items(e: Entry) -> list[tuple[str, str, datetime]]:
    """What is due on the case, (kind, reference, when), soonest first; none once closed."""
    if e["closed"]:
        return []
    out: list[tuple[str, str, str]] = []
    if e["reassess_since"]:
        out.append(("reassessment", "requested", e["reassess_since"]))
    elif e["valid_until"]:
        out.append(("reassessment", "expiry", e["valid_until"]))
    out += [("check_in", ref, due) for ref, due in e["check_ins"].items() if due]
    out += [("consent_lapsing", ref, g["until"]) for ref, g in e["grants"].items() if g["until"]]
    out += [("commitment", ref, f"{due}T00:00:00+00:00")
            for ref, due in e["commitments"].items() if due]  # fmt: skip
    out += [("flag", ref, at) for ref, at in e["flags"].items() if at]
    out += [("aftercare", ref, at) for ref, at in _awaiting_aftercare(e)]
    items = [(kind, ref, datetime.fromisoformat(when)) for kind, ref, when in out]
    return sorted(items, key=lambda i: (i[2], i[0], i[1]))
