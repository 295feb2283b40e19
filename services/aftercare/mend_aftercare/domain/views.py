"""What each role sees of a case's after-care: pure renderings of its state."""

from __future__ import annotations

from mend_aftercare.domain.state import AftercareState, CheckIn, Referral


def _participant(x: CheckIn | Referral) -> dict:
    """Whom a check-in or a referral is for, and in which role."""
    return {"participant_id": x.participant_id, "participant_role": str(x.role)}


def check_ins(state: AftercareState, person: str | None = None) -> list[dict]:
    return [
        {
            "check_in_id": str(k),
            **_participant(x),
            "due_at": x.due_at,
            "outcome": str(x.outcome) if x.outcome else None,
        }
        for k, x in state.check_ins.items()
        if person in (None, x.participant_id)
    ]


def referrals(state: AftercareState, person: str | None = None) -> list[dict]:
    return [
        {
            "referral_id": str(k),
            **_participant(x),
            "kind": str(x.kind),
            "owner_id": x.owner_id,
            "due_on": x.due_on,
        }
        for k, x in state.referrals.items()
        if person in (None, x.participant_id)
    ]


def commitments(state: AftercareState, owner: str | None = None) -> list[dict]:
    return [
        {
            "commitment_id": str(k),
            "owner_id": x.owner_id,
            "code": str(x.code),
            "due_on": x.due_on,
            "status": str(x.status) if x.status else None,
            "progress": str(x.progress) if x.progress else None,
        }
        for k, x in state.commitments.items()
        if owner in (None, x.owner_id)
    ]


def offers(state: AftercareState) -> list[dict]:
    """Each offer with the event that began its cause chain (`chain`; the cause itself when it
    began it), so the chain's other links can be traced to the one offer they share."""
    chain_of = {cause: root for root, cause in state.offer_chains.items()}
    return [
        {"cause_event_id": str(k), "cause": str(v), "chain": str(chain_of.get(k, k))}
        for k, v in state.offers.items()
    ]


def outcomes(state: AftercareState, *, scores: bool) -> list[dict]:
    return [
        {"measure": str(m), "point": str(p), **({"score": s} if scores else {})}
        for (m, p), s in state.outcomes.items()
    ]


def staff_view(state: AftercareState) -> dict:
    """For the allocated practitioner. Not the harmed person's update preference, nor what was
    shared with them: the sender must not learn their choices or consent from it."""
    return {
        "case_id": state.case_id,
        "harmed_person_id": state.harmed_person_id,
        "status": str(state.status),
        "closure_reason": str(state.closure_reason) if state.closure_reason else None,
        "offers": offers(state),
        "desistance_plans": sorted(state.desistance_plans),
        "check_ins": check_ins(state),
        "referrals": referrals(state),
        "commitments": commitments(state),
        # Which answers exist, not the answers: they are research data.
        "outcomes": outcomes(state, scores=False),
    }


def harmed_person_view(state: AftercareState, person: str) -> dict:
    """Their after-care, their plan, their choices and answers; commitments reach them only as
    delivered progress updates (`delivered_updates`)."""
    return {
        "case_id": state.case_id,
        "status": str(state.status),
        "closure_reason": str(state.closure_reason) if state.closure_reason else None,
        "offers": [str(cause) for cause in state.offers.values()],
        "update_level": str(state.update_level),
        "check_ins": check_ins(state, person),
        "referrals": referrals(state, person),
        "outcomes": outcomes(state, scores=True),
    }


def responsible_person_view(state: AftercareState, person: str) -> dict:
    """Their own plan and commitments; nothing of the harmed person's after-care."""
    return {
        "case_id": state.case_id,
        "desistance_plan": person in state.desistance_plans,
        "check_ins": check_ins(state, person),
        "referrals": referrals(state, person),
        "commitments": commitments(state, person),
    }
