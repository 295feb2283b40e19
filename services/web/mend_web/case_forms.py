"""The case page's forms read into the services' command bodies. A field that cannot be read
is named with a reason (never its value); everything else, the rules above all, is for the
service that receives the command to decide."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

from mend_events.contracts.actors import PSEUDO_ID_PATTERN
from mend_events.contracts.catalog.aftercare import PlanRole, ReferralKind
from mend_events.contracts.catalog.consent import AcknowledgementBasis
from mend_events.contracts.catalog.risk import (
    LEGAL_RESTRICTIONS,
    AssessmentStage,
    DecisionReason,
    FactorStatus,
    FlagCategory,
    FlagResolution,
    RiskDecision,
    Severity,
)
from mend_events.contracts.catalog.sessions import (
    AgreedCommitment,
    ParticipantRole,
    ResponsiblePersonOutcome,
)
from mend_events.contracts.vocabulary import ContactForm
from starlette.datastructures import FormData

from mend_web.i18n import gettext as _

_ID = re.compile(PSEUDO_ID_PATTERN)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ENROLLED_ROLES = tuple(r.value for r in ParticipantRole if r is not ParticipantRole.HARMED_PERSON)
MAX_VALIDITY_DAYS = 366


class FormProblem(Exception):
    """The fields that could not be read, each with a reason (never the value sent)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


class _Reader:
    def __init__(self, form: FormData) -> None:
        self.form, self.problems = form, {}

    def one(self, name: str, choices: Any = None, *, required: bool = True) -> str | None:
        value = str(self.form.get(name) or "").strip()
        if not value:
            if required:
                self.problems[name] = _("Choose or enter a value.")
            return None
        if choices is not None and value not in {str(c) for c in choices}:
            self.problems[name] = _("Choose one of the options shown.")
        return value

    def person(self, name: str, *, required: bool = True) -> str | None:
        value = self.one(name, required=required)
        if value and not _ID.fullmatch(value):
            self.problems[name] = _("This is not a person's reference (letters, digits, dashes).")
        return value

    def participant(self, name: str, value: str) -> dict[str, str] | None:
        pid, _sep, role = value.partition(":")
        if not _ID.fullmatch(pid) or role not in ParticipantRole.__members__.values():
            self.problems[name] = _("Choose one of the participants shown.")
            return None
        return {"id": pid, "role": role}

    def moment(self, day_field: str = "day", time_field: str = "time") -> str | None:
        """A day and a time of day (UTC), as one ISO moment."""
        day, time = self.one(day_field), self.one(time_field)
        if not (day and time):
            return None
        try:
            return datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=UTC).isoformat()
        except ValueError:
            self.problems[day_field] = _(
                "Enter a date and a time (for example 2027-03-01 and 10:30)."
            )
            return None

    def plan_person(self, name: str) -> tuple[str | None, str | None]:
        """A participant whose after-care or desistance plan it is (the harmed or the
        responsible person)."""
        found = self.participant(name, str(self.form.get(name) or ""))
        if found and found["role"] not in PlanRole.__members__.values():
            self.problems[name] = _("Choose the harmed or the responsible person.")
            return None, None
        return (found["id"], found["role"]) if found else (None, None)

    def many(self, name: str) -> list[str]:
        return [str(v) for v in self.form.getlist(name) if str(v).strip()]

    def done(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.problems:
            raise FormProblem(self.problems)
        return body


def enrolment(form: FormData, me: str) -> dict[str, Any]:
    r = _Reader(form)
    return r.done({"person_id": r.person("person_id"), "role": r.one("role", ENROLLED_ROLES)})


def preparation(form: FormData, me: str) -> dict[str, Any]:
    r = _Reader(form)
    chosen = r.one("participant")
    return r.done({"participant": chosen and r.participant("participant", chosen)})


def acknowledgement(form: FormData, me: str) -> dict[str, Any]:
    r = _Reader(form)
    rp = r.person("responsible_person_id")
    return r.done({"responsible_person_id": rp, "basis": r.one("basis", AcknowledgementBasis)})


def rp_outcome(form: FormData, me: str) -> dict[str, Any]:
    r = _Reader(form)
    return r.done({"outcome": r.one("outcome", ResponsiblePersonOutcome)})


def schedule(form: FormData, me: str) -> dict[str, Any]:
    r = _Reader(form)
    contact = r.one("form", ContactForm)
    people = [r.participant("participants", v) for v in r.many("participants")]
    if not people:
        r.problems["participants"] = _("Choose at least one participant.")
    team = r.many("team")
    if any(not _ID.fullmatch(t) for t in team):
        r.problems["team"] = _("Choose from the practitioners shown.")
    when = r.moment()
    return r.done(
        {
            "session_id": f"sess-{uuid4().hex[:10]}",
            "form": contact,
            "participants": people,
            "facilitator_id": me,
            "team": team,
            "scheduled_for": when,
        }
    )


def flag(form: FormData, me: str) -> dict[str, Any]:
    r = _Reader(form)
    return r.done(
        {
            "flag_id": str(uuid4()),
            "severity": r.one("severity", Severity),
            "category": r.one("category", FlagCategory),
            "affects": r.person("affects", required=False),
        }
    )


def check_in(form: FormData, me: str) -> dict[str, Any]:
    r = _Reader(form)
    person, role = r.plan_person("participant")
    when = r.moment()
    return r.done({"check_in_id": str(uuid4()), "participant_id": person,
                   "participant_role": role, "due_at": when})  # fmt: skip


def referral(form: FormData, me: str) -> dict[str, Any]:
    r = _Reader(form)
    person, role = r.plan_person("participant")
    due = r.one("due_on")
    if due and not _is_date(due):
        r.problems["due_on"] = _("Enter a date (for example 2027-03-01).")
    return r.done({"referral_id": str(uuid4()), "participant_id": person,
                   "participant_role": role, "kind": r.one("kind", ReferralKind),
                   "owner_id": me, "due_on": due})  # fmt: skip


def flag_resolution(form: FormData, me: str) -> dict[str, Any]:
    """A standing flag resolved, with the reason (a code; no free text asked for here)."""
    r = _Reader(form)
    flag_id = r.one("flag_id")
    if flag_id and not _UUID.fullmatch(flag_id):
        r.problems["flag_id"] = _("Choose one of the flags shown.")
    return r.done({"flag_id": flag_id, "reason": r.one("reason", FlagResolution)})


def assessment(form: FormData, me: str) -> dict[str, Any]:
    """The whole assessment in one form: its stage, the legal restrictions checked (each one is
    a factor the service records), and the decision signed off by a specialist."""
    r = _Reader(form)
    stage = r.one("stage", AssessmentStage)
    factors = [
        {"kind": kind.value, "status": r.one(kind.value, FactorStatus)}
        for kind in LEGAL_RESTRICTIONS
    ]
    with_rp = form.get("with_responsible_person") == "yes"
    forms = r.many("permitted_forms")
    if any(f not in ContactForm.__members__.values() for f in forms):
        r.problems["permitted_forms"] = _("Choose one of the options shown.")
    days_text = r.one("valid_for_days")
    days = int(days_text) if days_text and days_text.isdigit() else None
    if days_text and (days is None or not 1 <= days <= MAX_VALIDITY_DAYS):
        r.problems["valid_for_days"] = _("Enter a whole number of days from 1 to 366.")
    completion = {
        "decision": r.one("decision", RiskDecision),
        "permitted_forms": [{"form": f, "with_responsible_person": with_rp} for f in forms],
        "reasons": [r.one("reason", DecisionReason)],
        "signed_off_by": r.person("signed_off_by"),
        "valid_for_days": days,
    }
    return r.done({"stage": stage, "factors": factors, "completion": completion})


# What a safety plan settles (risk's SafetyPlanAgreed): never the code word itself.
PLAN_ASKS = ("separate_arrival_departure", "support_person_present", "breaks", "exit_plan",
             "code_word_set")  # fmt: skip


def safety_plan(form: FormData, me: str) -> dict[str, Any]:
    """The safety plan agreed with a participant under the latest assessment: direct contact
    waits for the harmed person's (the sessions service's safety gate)."""
    r = _Reader(form)
    assessment_id = r.one("assessment_id")
    if assessment_id and not _UUID.fullmatch(assessment_id):
        r.problems["assessment_id"] = _("Record an assessment first.")
    body = {"assessment_id": assessment_id, "agreed_with": r.person("agreed_with")}
    return r.done({**body, **{ask: form.get(ask) == "yes" for ask in PLAN_ASKS}})


def agreement(form: FormData, me: str) -> dict[str, Any]:
    """The outcome agreement of a session: each participant's commitment (if any, by a date if
    agreed) and who consented to it; one agreement per session, so all of it in one form."""
    r = _Reader(form)
    items = []
    for key in sorted(k for k in form.keys() if k.startswith("commitment-")):
        owner = key.removeprefix("commitment-")
        code = r.one(key, AgreedCommitment, required=False)
        if not code:
            continue
        if not _ID.fullmatch(owner):
            r.problems[key] = _("Choose one of the participants shown.")
        due = r.one(f"due-{owner}", required=False)
        if due and not _is_date(due):
            r.problems[f"due-{owner}"] = _("Enter a date (for example 2027-03-01).")
        items.append({"owner_id": owner, "commitment": code, "due_on": due or None})
    if not items and not r.problems:
        r.problems["items"] = _("Choose at least one commitment.")
    consented = r.many("consented_by")
    if not consented or any(not _ID.fullmatch(p) for p in consented):
        r.problems["consented_by"] = _("Choose who agreed to it.")
    return r.done({"items": items, "consented_by": consented})


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Action:
    """A form of the case page: the service it goes to, the path under the case, its body."""

    service: str
    path: str
    body: Callable[[FormData, str], Mapping[str, Any]]
    anchor: str


ACTIONS = {
    "participants": Action("sessions", "/participants", enrolment, "people"),
    "preparations": Action("sessions", "/preparations", preparation, "people"),
    "acknowledgements": Action("consent", "/acknowledgements", acknowledgement, "people"),
    "sessions": Action("sessions", "/sessions", schedule, "sessions"),
    "flags": Action("risk", "/flags", flag, "risk"),
    "flag-resolutions": Action("risk", "/flag-resolutions", flag_resolution, "risk"),
    "check-ins": Action("aftercare", "/aftercare/check-ins", check_in, "aftercare"),
    "referrals": Action("aftercare", "/aftercare/referrals", referral, "aftercare"),
    "assessments": Action("risk", "/assessments", assessment, "risk"),
    "safety-plans": Action("risk", "/safety-plans", safety_plan, "risk"),
    "responsible-person-outcome": Action(
        "sessions", "/responsible-person-outcome", rp_outcome, "people"
    ),
}


PLAN = set(PlanRole.__members__.values())


def _people_options(people: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [
        (f"{p['id']}:{p['role']}", f"{p['id']} ({p['role'].replace('_', ' ')})") for p in people
    ]


def _words(values: Any) -> list[tuple[str, str]]:
    return [(str(v), str(v).replace("_", " ")) for v in values]


def choices(
    people: list[dict[str, str]],
    registry: list[dict[str, Any]],
    me: str,
    risk: Mapping[str, Any] | None = None,
) -> dict[str, list[tuple[str, str]]]:
    """The options of the page's forms (value, what the practitioner reads)."""
    others = [p for p in registry if p.get("practitioner_id") != me]
    flags = (risk or {}).get("flags") or []

    def staff(p: Mapping[str, Any]) -> tuple[str, str]:
        skills = ", ".join(str(s).replace("_", " ") for s in p.get("specialisms") or ())
        pid = p["practitioner_id"]
        return (pid, f"{pid} ({skills})" if skills else pid)

    return {
        "people": _people_options(people),
        "people_ids": [(p["id"], p["id"]) for p in people],
        "enrolled_roles": _words(ENROLLED_ROLES),
        "basis": _words(AcknowledgementBasis),
        "rp_outcome": _words(ResponsiblePersonOutcome),
        "forms": _words(ContactForm),
        "severity": _words(Severity),
        "category": _words(FlagCategory),
        "resolution": _words(FlagResolution),
        "referral_kind": _words(ReferralKind),
        "plan_people": [(v, t) for v, t in _people_options(people) if v.split(":")[1] in PLAN],
        "flags": [
            (str(f["flag_id"]), f"{f['severity']}: {str(f['category']).replace('_', ' ')}")
            for f in flags
        ],
        "stage": _words(reversed(AssessmentStage)),
        "factor_status": _words(FactorStatus),
        "decision": _words(RiskDecision),
        "commitment": _words(AgreedCommitment),
        "reason": _words(DecisionReason),
        "team": [staff(p) for p in others],
        "specialists": [staff(p) for p in others if p.get("specialisms")],
    }
