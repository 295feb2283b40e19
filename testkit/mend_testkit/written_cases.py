"""Cases a practitioner would recognise, written by a `CaseWriter` straight into the stores;
each returns the events it wrote by a short name."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

from mend_events.contracts.actors import Role
from mend_events.contracts.catalog import aftercare, consent, risk, sessions
from mend_events.contracts.vocabulary import ContactForm

from mend_testkit.case_writer import HP, PRAC, RP, SPECIALIST, CaseWriter, Written
from mend_testkit.samples import case_opened

__all__ = ["HP", "PRAC", "RP"]  # tests name the people of these cases


async def opening(w: CaseWriter, case: str) -> dict[str, Written]:
    """Opening, facilitator choice, preferences, consents, acknowledgement, a full assessment
    permitting a face-to-face meeting, preparation with each party."""
    hp, rp, prac = Role.HARMED_PERSON, Role.RESPONSIBLE_PERSON, Role.PRACTITIONER
    out: dict[str, Written] = {}
    out["opened"] = await w.record(
        "sessions",
        case,
        case_opened(HP, w.agency, sessions.JusticeStage.POST_SENTENCE),
        HP,
        hp,
    )
    out["facilitator"] = await w.record(
        "sessions", case, sessions.FacilitatorChosen(practitioner_id=PRAC), HP, hp
    )
    out["preferences"] = await w.record(
        "sessions",
        case,
        sessions.PreferencesSet(
            min_gap_days=7,
            permitted_forms=(sessions.ContactForm.FACE_TO_FACE, sessions.ContactForm.LETTER),
            speaks_first=None,
            responsible_person_takes_part=True,
            invited=(),
            progress_updates=True,
        ),
        HP,
        hp,
    )
    for who, role in ((HP, hp), (RP, rp)):
        for scope in ("take_part", "contact:face_to_face"):
            out[f"consent:{who}:{scope}"] = await w.record(
                "consent",
                case,
                consent.ConsentGiven(
                    grant_id=uuid4(),
                    participant_id=who,
                    participant_role=role,
                    scope=scope,
                    informed_how=consent.InformedHow.BOTH,
                    no_incentive_attested=True,
                    witnessed_by=PRAC,
                ),
                who,
                role,
            )
    out["acknowledgement"] = await w.record(
        "consent",
        case,
        consent.AcknowledgementRecorded(
            responsible_person_id=RP, basis=consent.AcknowledgementBasis.WRITTEN_STATEMENT
        ),
        PRAC,
        prac,
    )
    assessment = uuid4()
    out["assessment"] = await w.record(
        "risk",
        case,
        risk.RiskAssessmentStarted(assessment_id=assessment, stage=risk.AssessmentStage.FULL),
        PRAC,
        prac,
    )
    for kind in (risk.FactorKind.PROTECTIVE_ORDER, risk.FactorKind.BAIL_OR_LICENCE_CONDITIONS):
        out[f"factor:{kind}"] = await w.record(
            "risk",
            case,
            risk.RiskFactorRecorded(
                assessment_id=assessment,
                factor=risk.RiskFactor(kind=kind, status=risk.FactorStatus.ABSENT),
            ),
            PRAC,
            prac,
        )
    out["decision"] = await w.record(
        "risk",
        case,
        risk.RiskAssessmentCompleted(
            assessment_id=assessment,
            decision=risk.RiskDecision.PROCEED,
            permitted_forms=(
                risk.PermittedForm(form=ContactForm.FACE_TO_FACE, with_responsible_person=True),
            ),
            reasons=(risk.DecisionReason.SUITABLE_WITH_SAFEGUARDS,),
            signed_off_by=SPECIALIST,
            valid_until=w.clock + timedelta(days=90),
        ),
        PRAC,
        prac,
    )
    for who, role in (
        (HP, sessions.ParticipantRole.HARMED_PERSON),
        (RP, sessions.ParticipantRole.RESPONSIBLE_PERSON),
    ):
        out[f"prepared:{who}"] = await w.record(
            "sessions",
            case,
            sessions.PreparationSessionHeld(participant=sessions.Participant(id=who, role=role)),
            PRAC,
            prac,
        )
    return out


async def schedule_meeting(w: CaseWriter, case: str, session_id: str) -> Written:
    return await w.record(
        "sessions",
        case,
        sessions.SessionScheduled(
            session_id=session_id,
            form=sessions.ContactForm.FACE_TO_FACE,
            participants=(
                sessions.Participant(id=HP, role=sessions.ParticipantRole.HARMED_PERSON),
                sessions.Participant(id=RP, role=sessions.ParticipantRole.RESPONSIBLE_PERSON),
            ),
            facilitator_id=PRAC,
            team=(PRAC, SPECIALIST),
            scheduled_for=w.clock + timedelta(days=14),
            speaks_first=HP,
        ),
        PRAC,
        Role.PRACTITIONER,
    )


async def halt_session(
    w: CaseWriter, case: str, session_id: str, cause: sessions.HaltCause, by: Written
) -> Written:
    """The sessions service halting a meeting on its own, in reaction to the event `by`."""
    halt = sessions.SessionHalted(
        session_id=session_id,
        halted_by_id=None,
        halted_by_role=Role.SYSTEM,
        cause=cause,
        cause_event_id=by.event_id,
    )
    return await w.system("sessions", case, halt, by)


async def offer_aftercare(
    w: CaseWriter, case: str, cause: aftercare.OfferCause, by: Written
) -> Written:
    """The aftercare service offering the harmed person after-care in reaction to the event `by`."""
    offer = aftercare.AftercareOffered(harmed_person_id=HP, cause=cause, cause_event_id=by.event_id)
    return await w.system("aftercare", case, offer, by)


async def withdrawal_journey(w: CaseWriter, case: str) -> dict[str, Written]:
    """The harmed person withdraws everything while a face-to-face meeting is scheduled: the
    meeting is halted by the withdrawal, after-care is offered for the withdrawal and for the
    halt, and the harmed person accepts it."""
    out = await opening(w, case)
    out["scheduled"] = await schedule_meeting(w, case, "sess-0001")
    given = [v for k, v in out.items() if k.startswith(f"consent:{HP}:")]
    grants = []
    for g in given:
        async with w.stores["consent"].pool.acquire() as conn:
            data = await conn.fetchval(
                f"SELECT data FROM {w.stores['consent'].schema}.events WHERE event_id = $1",
                g.event_id,
            )
        grants.append(consent.GrantRef(grant_id=UUID(data["grant_id"]), scope=data["scope"]))
    out["withdrawn"] = await w.record(
        "consent",
        case,
        consent.ConsentWithdrawn(
            participant_id=HP,
            target=consent.WithdrawalTarget.EVERYTHING,
            grants=tuple(grants),
            reason="I cannot face him",  # sealed by the store: never in any audit output
        ),
        HP,
        Role.HARMED_PERSON,
    )
    out["halted"] = await halt_session(
        w, case, "sess-0001", sessions.HaltCause.CONSENT_WITHDRAWN, out["withdrawn"]
    )
    out["offered:withdrawal"] = await offer_aftercare(
        w, case, aftercare.OfferCause.CONSENT_WITHDRAWN, out["withdrawn"]
    )
    out["offered:halt"] = await offer_aftercare(
        w, case, aftercare.OfferCause.SESSION_HALTED, out["halted"]
    )
    out["accepted"] = await w.record(
        "aftercare", case, aftercare.AftercareAccepted(), HP, Role.HARMED_PERSON
    )
    out["check_in"] = await w.record(
        "aftercare",
        case,
        aftercare.CheckInScheduled(
            check_in_id=uuid4(),
            participant_id=HP,
            participant_role=aftercare.PlanRole.HARMED_PERSON,
            due_at=w.clock + timedelta(days=7),
        ),
        PRAC,
        Role.PRACTITIONER,
    )
    return out


async def risk_flag_journey(w: CaseWriter, case: str) -> dict[str, Written]:
    """A severe risk flag (coercive control) raised during a running face-to-face meeting halts
    it; after-care is offered for the halt and a reassessment becomes due."""
    out = await opening(w, case)
    out["scheduled"] = await schedule_meeting(w, case, "sess-0002")
    out["started"] = await w.record(
        "sessions",
        case,
        sessions.SessionStarted(session_id="sess-0002"),
        PRAC,
        Role.PRACTITIONER,
    )
    out["flag"] = await w.record(
        "risk",
        case,
        risk.RiskFlagRaised(
            flag_id=uuid4(),
            severity=risk.Severity.SEVERE,
            category=risk.FlagCategory.COERCIVE_CONTROL,
            affects=RP,
        ),
        PRAC,
        Role.PRACTITIONER,
    )
    out["halted"] = await halt_session(
        w, case, "sess-0002", sessions.HaltCause.RISK_FLAG, out["flag"]
    )
    out["offered"] = await offer_aftercare(
        w, case, aftercare.OfferCause.SESSION_HALTED, out["halted"]
    )
    out["reassessment"] = await w.system(
        "risk",
        case,
        risk.RiskReassessmentDue(
            trigger=risk.ReassessmentTrigger.SESSION_HALTED_FOR_SAFETY,
            trigger_event_id=out["halted"].event_id,
        ),
        out["halted"],
    )
    return out
