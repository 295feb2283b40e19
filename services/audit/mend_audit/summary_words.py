"""The words of each event type's one-line summary, built only from codes, dates and
pseudonymous ids (never a personal field: see `summaries.py`). Casework's (letters, notes,
referrals, meetings, materials) are in `casework_words.py`."""

from __future__ import annotations

from collections.abc import Callable

from mend_audit.casework_words import CASEWORK
from mend_audit.summary_text import SEALED, Data, _forms, _g, _ids, _scopes, _until, _words, short

__all__ = ["SEALED", "SUMMARIES", "Data", "short"]

# --- consent ---------------------------------------------------------------------------------


def _consent_given(d: Data) -> str:
    witness = f", witnessed by {d['witnessed_by']}" if d.get("witnessed_by") else ""
    return (
        f"{_g(d, 'participant_id')} ({_g(d, 'participant_role')}) consented to {_g(d, 'scope')}"
        f"{_until(d, 'expires_at')}{witness}"
    )


def _consent_withdrawn(d: Data) -> str:
    target = _g(d, "target")
    what = f"scope {d['scope']}" if target == "scope" and d.get("scope") else target
    grants = d.get("grants")
    count = len(grants) if isinstance(grants, list) else 0
    return (
        f"{_g(d, 'participant_id')} withdrew consent ({what}): {count} grant(s) ended: "
        f"{_scopes(grants)}"
    )


def _invalidated(d: Data) -> str:
    return (
        f"consent of {_g(d, 'participant_id')} invalidated by incentive report "
        f"{short(d.get('report_id'))}: {_scopes(d.get('grants'))}"
    )


# --- risk ------------------------------------------------------------------------------------


def _factor(d: Data) -> str:
    f = d.get("factor") if isinstance(d.get("factor"), dict) else {}
    severity = f", {f['severity']}" if f.get("severity") else ""
    about = f" about {f['concerns']}" if f.get("concerns") else ""
    carve = ""
    if f.get("carve_out") is not None:
        carve = ", RJ contact carved out" if f["carve_out"] else ", no carve-out"
    return f"risk factor {_g(f, 'kind')}{about}: {_g(f, 'status')}{severity}{carve}"


def _assessment_completed(d: Data) -> str:
    reasons = d.get("reasons")
    why = ", ".join(str(r) for r in reasons) if isinstance(reasons, list) else "?"
    return (
        f"risk assessment {short(d.get('assessment_id'))} completed: {_g(d, 'decision')} "
        f"({why}); permits {_forms(d.get('permitted_forms'))}; signed off by "
        f"{_g(d, 'signed_off_by')}; valid until {_g(d, 'valid_until')}{_under(d)}"
    )


def _under(d: Data) -> str:
    """The rule pack a decision was made under (none before rule packs existed)."""
    return f"; under rule pack {d['rule_pack']}" if d.get("rule_pack") else ""


def _revalidated(d: Data) -> str:
    return (
        f"risk assessment {short(d.get('assessment_id'))} judged by rule pack "
        f"{_g(d, 'rule_pack')}: valid until {_g(d, 'valid_until')}"
    )


def _flag_raised(d: Data) -> str:
    affects = f" affecting {d['affects']}" if d.get("affects") else " for the whole case"
    return (
        f"{_g(d, 'severity')} risk flag {short(d.get('flag_id'))} raised: "
        f"{_g(d, 'category')}{affects}"
    )


# --- sessions --------------------------------------------------------------------------------


def _preferences(d: Data) -> str:
    forms = d.get("permitted_forms")
    listed = ", ".join(str(f) for f in forms) if isinstance(forms, list) else "?"
    rp = "takes part" if d.get("responsible_person_takes_part") else "takes no part"
    updates = "wanted" if d.get("progress_updates") else "not wanted"
    return (
        f"preferences set: forms {listed or 'none'}; minimum gap {_g(d, 'min_gap_days')} day(s); "
        f"responsible person {rp}; progress updates {updates}"
    )


def _preparation(d: Data) -> str:
    p = d.get("participant") if isinstance(d.get("participant"), dict) else {}
    return f"preparation session held with {_g(p, 'id')} ({_g(p, 'role')})"


def _scheduled(d: Data) -> str:
    return (
        f"session {_g(d, 'session_id')} ({_g(d, 'form')}) scheduled for "
        f"{_g(d, 'scheduled_for')}, facilitator {_g(d, 'facilitator_id')}, participants "
        f"{_ids(d.get('participants'))}"
    )


def _halted(d: Data) -> str:
    by = d.get("halted_by_id")
    who = f"{by} ({_g(d, 'halted_by_role')})" if by else "the system"
    cause = f", cause event {short(d['cause_event_id'])}" if d.get("cause_event_id") else ""
    return f"session {_g(d, 'session_id')} halted by {who}: {_g(d, 'cause')}{cause}"


def _agreement(d: Data) -> str:
    items = d.get("items")
    listed = (
        ", ".join(f"{i.get('owner_id', '?')}: {i.get('commitment', '?')}" for i in items)
        if isinstance(items, list)
        else "?"
    )
    return f"agreement reached in session {_g(d, 'session_id')}: {listed or 'no commitments'}"


# --- aftercare -------------------------------------------------------------------------------


def _offered(d: Data) -> str:
    reopens = f", reopening after {d['reopens_closure']}" if d.get("reopens_closure") else ""
    return (
        f"after-care offered to {_g(d, 'harmed_person_id')} ({_g(d, 'cause')}, cause event "
        f"{short(d.get('cause_event_id'))}){reopens}"
    )


def _check_in(word: str) -> Callable[[Data], str]:
    def summary(d: Data) -> str:
        due = _until(d, "due_at", "due")
        return (
            f"check-in {short(d.get('check_in_id'))} {word} with {_g(d, 'participant_id')} "
            f"({_g(d, 'participant_role')}){due}"
        )

    return summary


def _commitment(d: Data) -> str:
    return (
        f"commitment {short(d.get('commitment_id'))} of {_g(d, 'owner_id')}: {_g(d, 'code')}"
        f"{_until(d, 'due_on', 'due')}"
    )


def _commitment_word(word: str) -> Callable[[Data], str]:
    def summary(d: Data) -> str:
        extra = f": {d['progress']}" if d.get("progress") else ""
        return f"commitment {short(d.get('commitment_id'))} {word}{extra}"

    return summary


SUMMARIES: dict[str, Callable[[Data], str]] = {
    # consent
    "ConsentGiven": _consent_given,
    "ConsentWithdrawn": _consent_withdrawn,
    "ConsentLapsed": _words("consent of {participant_id} to {scope} lapsed at {expired_at}"),
    "IncentiveReported": _words(
        "incentive reported for {participant_id} (report {report_id:short})"
    ),
    "ConsentInvalidated": _invalidated,
    "PersonalDataErased": _words("personal data of {person_id} erased ({basis})"),
    "AcknowledgementRecorded": _words(
        "acknowledgement of harm by {responsible_person_id} recorded ({basis})"
    ),
    "AcknowledgementWithdrawn": _words(
        "acknowledgement by {responsible_person_id} no longer stands ({ground})"
    ),
    # risk
    "RiskAssessmentStarted": _words("{stage} risk assessment {assessment_id:short} started"),
    "RiskFactorRecorded": _factor,
    "RiskAssessmentCompleted": _assessment_completed,
    "RiskDecisionRevalidated": _revalidated,
    "SafetyPlanAgreed": _words("safety plan agreed with {agreed_with}"),
    "RiskFlagRaised": _flag_raised,
    "RiskFlagResolved": _words("risk flag {flag_id:short} resolved: {reason}"),
    "RiskReassessmentDue": _words("risk reassessment due: {trigger}"),
    # sessions
    "CaseOpened": _words(
        "case opened ({route}) by agency {agency} for {harmed_person_id}: {harm_category}, "
        "justice stage {justice_stage}"
    ),
    "InvitationRecorded": _words("invitation recorded for {harmed_person_id}"),
    "ParticipantEnrolled": _words("{person_id} takes part as {role}"),
    "FacilitatorChosen": _words("facilitator chosen: {practitioner_id}"),
    "PreferencesSet": _preferences,
    "CasePaused": _words("case paused ({reason})"),
    "CaseResumed": _words("case resumed"),
    "PreparationSessionHeld": _preparation,
    "SessionScheduled": _scheduled,
    "SessionStarted": _words("session {session_id} started"),
    "SessionHalted": _halted,
    "SessionCompleted": _words("session {session_id} completed"),
    "AgreementReached": _agreement,
    "CaseClosed": _words("case closed ({reason})"),
    "PractitionerRegistered": _words("practitioner {practitioner_id} registered at level {level}"),
    # the hub's allocations on the case's stream (community volunteers: issue 21)
    "CaseAllocated": _words("practitioner {practitioner_id} allocated ({reason})"),
    "CaseDeallocated": _words("practitioner {practitioner_id} no longer allocated ({reason})"),
    "VolunteerAllocated": _words(
        "volunteer {volunteer_id} allocated as {part} ({reason}), current until {valid_until}"
    ),
    "VolunteerDeallocated": _words("volunteer {volunteer_id} no longer allocated ({reason})"),
    **CASEWORK,
    # aftercare
    "AftercareOffered": _offered,
    "AftercareAccepted": _words("after-care accepted"),
    "AftercareDeclined": _words("after-care declined"),
    "DesistancePlanAccepted": _words("desistance plan accepted by {responsible_person_id}"),
    "DesistancePlanEnded": _words("desistance plan ended by {responsible_person_id}"),
    "CheckInScheduled": _check_in("scheduled"),
    "CheckInCompleted": _check_in("completed"),
    "CheckInMissed": _check_in("missed"),
    "ReferralMade": _words(
        "{kind} referral for {participant_id} ({participant_role}), followed up by {owner_id}"
    ),
    "CommitmentRecorded": _commitment,
    "CommitmentProgressed": _commitment_word("progressed"),
    "CommitmentCompleted": _commitment_word("completed"),
    "CommitmentNotCompleted": _commitment_word("not completed"),
    "ProgressUpdatePreferenceSet": _words("{harmed_person_id} chose progress updates: {level}"),
    "ProgressUpdateShared": _words(
        "progress update shared with {harmed_person_id}: commitment {commitment_id:short} {status}"
    ),
    # The score is the harmed person's answer: counted, never echoed in a timeline.
    "OutcomeMeasureRecorded": _words("outcome measure {measure} recorded at {point}"),
    "InstrumentAnswered": _words(
        "outcome instrument {instrument} answered at {point}, about {about_id} ({about_role})"
    ),
    "AftercareClosed": _words("after-care closed ({reason})"),
    "SupportPlanOpened": _words("support plan opened for {subject_id} ({subject}), as they asked"),
}
