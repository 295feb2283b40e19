"""The one rule of what a participant may know, over every role and the kinds of document the
services show (pure: no I/O)."""

from __future__ import annotations

import json

import pytest
from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.contracts.catalog.sessions import HaltCause
from mend_events.security.disclosure import PARTICIPANT_HALT_CAUSES, for_viewer, participant_halt
from mend_events.security.identity import Identity

HP, RP, FAC = "hp-alice01", "rp-bob0001", "prac-fac001"
FLAG_EVENT, HALT_EVENT, ASSESSMENT = (
    "11111111-1111-4111-8111-111111111111",
    "22222222-2222-4222-8222-222222222222",
    "33333333-3333-4333-8333-333333333333",
)


def halt(cause: HaltCause, by: str | None = None, role: str = "system") -> dict:
    return {
        "event_id": HALT_EVENT,
        "at": "2026-12-01T10:00:00+00:00",
        "cause": str(cause),
        "cause_event_id": FLAG_EVENT if by is None else None,
        "halted_by_id": by,
        "halted_by_role": role,
    }


def case_doc(h: dict) -> dict:
    return {
        "case_id": "case-0001aa",
        "sessions": [{"session_id": "sess-0001", "participants": [{"id": HP}], "halt": h}],
    }


DOCUMENTS = {
    "risk-flag halt": case_doc(halt(HaltCause.RISK_FLAG)),
    "risk-decision halt": case_doc(halt(HaltCause.RISK_DECISION)),
    "withdrawal halt": case_doc(halt(HaltCause.CONSENT_WITHDRAWN)),
    "practitioner halt": case_doc(halt(HaltCause.PRACTITIONER_HALT, FAC, "practitioner")),
    "safety plans": {"safety_plans": [{"assessment_id": ASSESSMENT, "agreed_with": HP}]},
    "risk summary": {"severe_flags": [FLAG_EVENT], "flags": [{"flag_id": FLAG_EVENT}],
                     "assessment": {"signed_off_by": FAC}},
    "history": {"events": [{"event_id": "e", "causation_id": FLAG_EVENT, "data": {}}]},
    "aftercare closed unsafe": {"status": "closed", "closure_reason": "unsafe"},
}  # fmt: skip
FORBIDDEN = (FLAG_EVENT, ASSESSMENT, HALT_EVENT, "risk_flag", "risk_decision", "unsafe",
             "consent_withdrawn", "practitioner_halt", FAC)  # fmt: skip


@pytest.mark.parametrize("role", sorted(PARTICIPANT_ROLES))
@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_participant_sees_no_risk_and_no_cause(role: Role, name: str) -> None:
    for person in (HP, RP):
        shown = json.dumps(for_viewer(Identity("agency-a", role, person), DOCUMENTS[name]))
        assert not [f for f in FORBIDDEN if f in shown], (role, person, name, shown)


@pytest.mark.parametrize("role", sorted(set(Role) - PARTICIPANT_ROLES))
def test_staff_whom_the_policy_lets_read_see_the_document_whole(role: Role) -> None:
    for doc in DOCUMENTS.values():
        assert for_viewer(Identity("agency-a", role, "aud-0001"), doc) == doc


def test_a_halt_tells_when_whether_it_was_yours_and_a_neutral_cause() -> None:
    seen = {cause: participant_halt(halt(cause), RP)["cause"] for cause in HaltCause}
    assert seen[HaltCause.RISK_FLAG] == seen[HaltCause.PRACTITIONER_HALT]  # indistinguishable
    assert seen[HaltCause.RISK_FLAG] == "halted_by_the_facilitator"
    assert set(seen.values()) <= PARTICIPANT_HALT_CAUSES
    own = participant_halt(halt(HaltCause.PARTICIPANT_HALT, RP, "responsible_person"), RP)
    assert own == {"at": "2026-12-01T10:00:00+00:00", "halted_by_you": True,
                   "cause": "halted_by_you"}  # fmt: skip
    other = participant_halt(halt(HaltCause.PARTICIPANT_HALT, HP, "harmed_person"), RP)
    assert other["cause"] == "halted" and other["halted_by_you"] is False
