"""The hub service's events: the agencies of a deployment, their staff, who is allocated to which
case, and the people directory (topic `hub.events.v1`).

Streams: `agency:<agency>` (onboarding, keys, identity provider, suspension), `staff:<person>`
(enrolment, qualifications, a volunteer's vetting and training, deactivation, sign-in state),
the case id (allocations of practitioners and of volunteers for a part, so a case's allocations
stay in order on its partition) and `person:<person>` (the people directory).

Every other service consumes the agency, staff and allocation events into its own trust tables
(`mend_events.security.trust`): which issuers and keys sign tokens, which agencies are suspended,
which staff are deactivated, who is allocated to a case, and (sessions) the qualifications its
gates check. Credentials never travel: password hashes and second-factor secrets stay in the
hub's own tables; events say only that something about them changed. A person's details are
`PersonalText`, sealed under that person's data key, so erasure makes them unreadable everywhere.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, StringConstraints

from mend_events.contracts.actors import AgencyId, PseudoId, Role
from mend_events.contracts.catalog.sessions import Specialism
from mend_events.contracts.events import DomainEvent, PersonalText, registry

AGENCY_STREAM = "agency:"
STAFF_STREAM = "staff:"
PERSON_STREAM = "person:"

# Staff roles the hub enrols; participants have accounts of their own (`ParticipantInvited`).
STAFF_ROLES = frozenset({Role.COORDINATOR, Role.PRACTITIONER, Role.AUDITOR, Role.OPERATOR})
# Everyone the hub enrols (`StaffEnrolled`), signs in like staff and holds to their enrolment
# (active, in this role, in this agency): staff, and community volunteers, who are not staff
# (issue 21: vetted, trained, allocated to a case for one part, seeing only that part).
ENROLLED_ROLES = STAFF_ROLES | {Role.VOLUNTEER}

KeyId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
# An organisation's name is not personal data; still bounded and single-line.
AgencyName = Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=r"^[^\n\r]+$")]
# An IANA time zone name ("Europe/London"); whether it exists is checked where it is chosen.
TimeZoneName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_+/-]{1,63}$")]
HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]{1,500}$")]
ClaimName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.:/-]{0,99}$")]


def agency_stream(agency: str) -> str:
    return f"{AGENCY_STREAM}{agency}"


def staff_stream(person_id: str) -> str:
    return f"{STAFF_STREAM}{person_id}"


def person_stream(person_id: str) -> str:
    return f"{PERSON_STREAM}{person_id}"


class SignIn(StrEnum):
    LOCAL = "local"  # accounts kept by the hub, tokens signed by the hub with the agency's key
    OIDC = "oidc"  # the agency's own OpenID Connect provider signs its staff's tokens


class SuspensionReason(StrEnum):
    AGREEMENT_ENDED = "agreement_ended"
    SECURITY_INCIDENT = "security_incident"
    UNDER_REVIEW = "under_review"
    OTHER = "other"


class DeactivationReason(StrEnum):
    LEFT_AGENCY = "left_agency"
    SUSPENDED_FROM_PRACTICE = "suspended_from_practice"
    SECURITY_CONCERN = "security_concern"
    OTHER = "other"


class AllocationReason(StrEnum):
    NEW_CASE = "new_case"
    CASELOAD_BALANCE = "caseload_balance"
    SPECIALISM_NEEDED = "specialism_needed"
    PARTICIPANT_REQUEST = "participant_request"  # e.g. a survivor asks for someone else
    PRACTITIONER_UNAVAILABLE = "practitioner_unavailable"
    CONFLICT_OF_INTEREST = "conflict_of_interest"
    STAFF_DEACTIVATED = "staff_deactivated"  # ended by the hub when someone is deactivated
    CASE_CLOSED = "case_closed"
    # ended by the hub when a volunteer's vetting is recorded as not clear (or withdrawn)
    VETTING_NOT_CLEAR = "vetting_not_clear"
    OTHER = "other"


# ---- agencies -------------------------------------------------------------------------------


@registry.register
class AgencyOnboarded(DomainEvent):
    event_type: ClassVar[str] = "AgencyOnboarded"
    agency_id: AgencyId
    name: AgencyName
    sign_in: SignIn
    # The clock its participants' reminder hours are on unless they choose their own (None:
    # UTC, as before agencies named one).
    timezone: TimeZoneName | None = None


@registry.register
class AgencyKeyAdded(DomainEvent):
    """A public key that verifies the agency's tokens (Ed25519, PEM SubjectPublicKeyInfo). Keys
    overlap during rotation: a new key is added before the old one is retired."""

    event_type: ClassVar[str] = "AgencyKeyAdded"
    agency_id: AgencyId
    kid: KeyId
    public_key_pem: Annotated[str, StringConstraints(min_length=40, max_length=4000)]


@registry.register
class AgencyKeyRetired(DomainEvent):
    """From `retired_at` on, tokens signed with this key are refused."""

    event_type: ClassVar[str] = "AgencyKeyRetired"
    agency_id: AgencyId
    kid: KeyId
    retired_at: AwareDatetime


# An X25519 public key, raw 32 bytes as unpadded base64url (RFC 7748; 43 characters).
SharingPublicKey = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$")
]


@registry.register
class AgencySharingKeySet(DomainEvent):
    """The agency's key for receiving shared information (issue 18): Mend's disclosure gateway
    encrypts the personal fields it discloses to this agency (HPKE) to this X25519 public key,
    named `kid` in what it sends. A later key replaces it for everything disclosed from then on;
    a kid is never reused. Registered by the agency's coordinators."""

    event_type: ClassVar[str] = "AgencySharingKeySet"
    agency_id: AgencyId
    kid: KeyId
    algorithm: Literal["X25519"] = "X25519"
    public_key: SharingPublicKey


@registry.register
class AgencyIdentityProviderSet(DomainEvent):
    """The agency's OpenID Connect provider: tokens whose `iss` is `issuer` are verified with the
    keys at `jwks_url` and mapped to Mend's role and pseudonymous id through the named claims."""

    event_type: ClassVar[str] = "AgencyIdentityProviderSet"
    agency_id: AgencyId
    issuer: HttpsUrl
    jwks_url: HttpsUrl
    audience: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "mend"
    role_claim: ClaimName = "mend_role"
    subject_claim: ClaimName = "mend_pid"


@registry.register
class AgencySuspended(DomainEvent):
    """Every token of the agency is refused from now on, whoever signed it."""

    event_type: ClassVar[str] = "AgencySuspended"
    agency_id: AgencyId
    reason: SuspensionReason


@registry.register
class AgencyReinstated(DomainEvent):
    event_type: ClassVar[str] = "AgencyReinstated"
    agency_id: AgencyId


@registry.register
class RulePackAdopted(DomainEvent):
    """The agency works under this rule pack version from the event's occurred_at on
    (`mend_events.rules`): decisions made from then on record it, and the risk service judges
    every standing decision of the agency's cases by it (`RiskDecisionRevalidated`)."""

    event_type: ClassVar[str] = "RulePackAdopted"
    agency_id: AgencyId
    pack_id: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}$")]
    version: int = Field(ge=1)

    @property
    def ref(self) -> str:
        return f"{self.pack_id}@{self.version}"


# ---- staff ----------------------------------------------------------------------------------


@registry.register
class StaffEnrolled(DomainEvent):
    event_type: ClassVar[str] = "StaffEnrolled"
    agency_id: AgencyId
    person_id: PseudoId
    role: Role = Field(description="coordinator, practitioner, auditor, operator or volunteer")


@registry.register
class StaffQualificationsRecorded(DomainEvent):
    """A practitioner's qualifications as of now; a later record supersedes it (that is also how
    a lapsed qualification is recorded). The sessions gates read these."""

    event_type: ClassVar[str] = "StaffQualificationsRecorded"
    agency_id: AgencyId
    person_id: PseudoId
    rj_trained: bool
    sexual_harm_trained: bool
    level: int = Field(ge=1, le=3)
    specialisms: tuple[Specialism, ...] = ()


@registry.register
class StaffDeactivated(DomainEvent):
    """Their sign-in ends at once and every allocation of theirs ends with it."""

    event_type: ClassVar[str] = "StaffDeactivated"
    agency_id: AgencyId
    person_id: PseudoId
    reason: DeactivationReason


@registry.register
class StaffReactivated(DomainEvent):
    event_type: ClassVar[str] = "StaffReactivated"
    agency_id: AgencyId
    person_id: PseudoId


# ---- allocations (stream: the case id) -------------------------------------------------------


@registry.register
class CaseAllocated(DomainEvent):
    event_type: ClassVar[str] = "CaseAllocated"
    agency_id: AgencyId
    case_id: PseudoId
    practitioner_id: PseudoId
    reason: AllocationReason


@registry.register
class CaseDeallocated(DomainEvent):
    """A reallocation is this event for the old practitioner and `CaseAllocated` for the new
    one, appended together."""

    event_type: ClassVar[str] = "CaseDeallocated"
    agency_id: AgencyId
    case_id: PseudoId
    practitioner_id: PseudoId
    reason: AllocationReason


__all__ = [
    "AGENCY_STREAM",
    "ENROLLED_ROLES",
    "PERSON_STREAM",
    "STAFF_ROLES",
    "STAFF_STREAM",
    "AgencyIdentityProviderSet",
    "AgencyKeyAdded",
    "AgencyKeyRetired",
    "AgencyOnboarded",
    "AgencyReinstated",
    "AgencySuspended",
    "AllocationReason",
    "CaseAllocated",
    "CaseDeallocated",
    "DeactivationReason",
    "SignIn",
    "StaffDeactivated",
    "StaffEnrolled",
    "StaffQualificationsRecorded",
    "StaffReactivated",
    "SuspensionReason",
    "agency_stream",
    "person_stream",
    "staff_stream",
]


# ==== the people directory (stream: `person:<person>`) ==========================================
# Mission row 41, R8. Everything that says who a participant is or how to reach them is a
# `PersonalText`, sealed by the store under that person's data key (`personal_owner`), so an
# erasure (consent's `PersonalDataErased`, applied by the hub too) makes it unreadable in every
# copy: the store, the topic, and any read model (which keeps the sealed value, never the text).
# Codes, booleans and ids stay in clear: they say nothing about who the person is.


class PersonKind(StrEnum):
    PARTICIPANT = "participant"  # takes part in cases (staff are `StaffEnrolled`)


class ContactChannel(StrEnum):
    EMAIL = "email"
    PHONE = "phone"  # calls
    TEXT_MESSAGE = "text_message"
    POST = "post"
    IN_PERSON = "in_person"  # where to meet: the address is the place
    VIA_AGENCY = "via_agency"  # through another organisation (e.g. a support service)
    VIA_SUPPORTER = "via_supporter"  # through someone the person trusts


class ContactReadPurpose(StrEnum):
    """Why someone read a person's contact details: every read names one (R8)."""

    ARRANGE_SESSION = "arrange_session"
    PREPARATION = "preparation"
    SAFETY_CHECK = "safety_check"
    AFTERCARE_CHECKIN = "aftercare_checkin"
    CONSENT_FOLLOW_UP = "consent_follow_up"
    DETAILS_REVIEW = "details_review"  # the person, or a coordinator keeping the record right
    ENQUIRY_FOLLOW_UP = "enquiry_follow_up"  # calling back someone who enquired


@registry.register
class PersonRegistered(DomainEvent):
    """A participant enters the agency's people directory under a pseudonymous id; nothing
    else about them is in this event."""

    event_type: ClassVar[str] = "PersonRegistered"
    person_id: PseudoId
    agency_id: AgencyId
    kind: PersonKind = PersonKind.PARTICIPANT


@registry.register
class PersonDetailsRecorded(DomainEvent):
    """The person's details as of now (a later record supersedes the whole of it; None: not
    given). Each field sealed under the person's data key."""

    event_type: ClassVar[str] = "PersonDetailsRecorded"
    personal_fields: ClassVar[tuple[str, ...]] = (
        "name",
        "preferred_name",
        "pronouns",
        "language",
        "interpreter_needs",
        "accessibility_needs",
        "cultural_needs",
    )
    personal_owner: ClassVar[str | None] = "person_id"

    person_id: PseudoId
    name: PersonalText | None = None
    preferred_name: PersonalText | None = None
    pronouns: PersonalText | None = None
    language: PersonalText | None = None
    interpreter_needs: PersonalText | None = None
    accessibility_needs: PersonalText | None = None
    cultural_needs: PersonalText | None = None


@registry.register
class ContactRouteRecorded(DomainEvent):
    """A safe way to reach the person (a route recorded again with the same id replaces it):
    the channel in clear, the address or number, safe times and who in their life knows about
    the case sealed under the person's data key."""

    event_type: ClassVar[str] = "ContactRouteRecorded"
    personal_fields: ClassVar[tuple[str, ...]] = ("address", "safe_times", "who_knows")
    personal_owner: ClassVar[str | None] = "person_id"

    person_id: PseudoId
    route_id: UUID
    channel: ContactChannel
    address: PersonalText | None = None
    safe_times: PersonalText | None = None
    may_leave_messages: bool = False
    who_knows: PersonalText | None = None


@registry.register
class ContactRouteRemoved(DomainEvent):
    event_type: ClassVar[str] = "ContactRouteRemoved"
    person_id: PseudoId
    route_id: UUID


@registry.register
class ContactDetailsRead(DomainEvent):
    """Someone read the person's contact details: who and when are the envelope's actor and
    occurred_at; why is `purpose`; `via_case` the case through which a practitioner may read
    them; `route_ids` the routes shown. Never a detail's value."""

    event_type: ClassVar[str] = "ContactDetailsRead"
    person_id: PseudoId
    purpose: ContactReadPurpose
    via_case: PseudoId | None = None
    route_ids: tuple[UUID, ...] = ()


__all__ += [  # the people directory's names, kept with their section
    "ContactChannel",
    "ContactDetailsRead",
    "ContactReadPurpose",
    "ContactRouteRecorded",
    "ContactRouteRemoved",
    "PersonDetailsRecorded",
    "PersonKind",
    "PersonRegistered",
]


# ---- sign-in accounts (stream: `account:<person>`) --------------------------------------------
# What happened to a local account, never the credential itself: no login name, hash, secret,
# code or token travels in these events. The hub's sign-in tables hold those (sealed or hashed).

ACCOUNT_STREAM = "account:"


def account_stream(person_id: str) -> str:
    return f"{ACCOUNT_STREAM}{person_id}"


class Credential(StrEnum):
    PASSWORD = "password"  # a password or a participant's passphrase
    TOTP = "totp"  # a time-based one-time password's secret (RFC 6238)


class LockReason(StrEnum):
    REPEATED_FAILURES = "repeated_failures"  # too many wrong passwords or codes in a row


class UnlockReason(StrEnum):
    BY_COORDINATOR = "by_coordinator"
    LOCK_EXPIRED = "lock_expired"


@registry.register
class AccountOpened(DomainEvent):
    """A local sign-in account exists for the person (staff: after `StaffEnrolled`;
    participants: when their invitation is redeemed)."""

    event_type: ClassVar[str] = "AccountOpened"
    agency_id: AgencyId
    person_id: PseudoId
    role: Role


@registry.register
class CredentialsChanged(DomainEvent):
    """A credential of the account was set or replaced (what kind only)."""

    event_type: ClassVar[str] = "CredentialsChanged"
    agency_id: AgencyId
    person_id: PseudoId
    credential: Credential


@registry.register
class AccountLocked(DomainEvent):
    """Sign-in is refused until `until` (or an unlock by a coordinator)."""

    event_type: ClassVar[str] = "AccountLocked"
    agency_id: AgencyId
    person_id: PseudoId
    reason: LockReason
    failures: int = Field(ge=1)
    until: AwareDatetime


@registry.register
class AccountUnlocked(DomainEvent):
    event_type: ClassVar[str] = "AccountUnlocked"
    agency_id: AgencyId
    person_id: PseudoId
    reason: UnlockReason


@registry.register
class ParticipantInvited(DomainEvent):
    """A practitioner handed the participant a one-time activation code (the code is not here)."""

    event_type: ClassVar[str] = "ParticipantInvited"
    agency_id: AgencyId
    person_id: PseudoId
    role: Role
    expires_at: AwareDatetime


@registry.register
class ActivationCodeIssued(DomainEvent):
    """A one-time code that opens a staff member's account, or (`reset`) replaces the login name
    and password of an existing account and removes its second factor (a lost password or
    phone). Issued by the coordinator (staff) or practitioner (participants) who is the actor."""

    event_type: ClassVar[str] = "ActivationCodeIssued"
    agency_id: AgencyId
    person_id: PseudoId
    role: Role
    expires_at: AwareDatetime
    reset: bool = False


__all__ += [
    "ACCOUNT_STREAM",
    "AccountLocked",
    "AccountOpened",
    "AccountUnlocked",
    "ActivationCodeIssued",
    "Credential",
    "CredentialsChanged",
    "LockReason",
    "ParticipantInvited",
    "UnlockReason",
    "account_stream",
]


# ==== reminders and notices (streams: `reminders:<person>`, `notices:<case>`) ====================
# R10: a participant is reminded only of what they opted into, on a route of theirs, within the
# hours they allow, and stops every reminder at once. Staff are told what needs them. Ids, codes
# and times only: the address is the person's sealed contact route (the people directory); what
# is sent says nothing of the case.
REMINDERS_STREAM = "reminders:"
NOTICES_STREAM = "notices:"


def reminders_stream(agency: str, person_id: str) -> str:
    """One person's choice (a person id names someone within their agency only)."""
    return f"{REMINDERS_STREAM}{agency}:{person_id}"


def notices_stream(case_id: str) -> str:
    return f"{NOTICES_STREAM}{case_id}"


class ReminderKind(StrEnum):
    SESSION = "session"  # a session of theirs is planned
    CHECK_IN = "check_in"  # an after-care or support check-in of theirs is due (aftercare)


class ReminderCancelCause(StrEnum):
    CONSENT_WITHDRAWN = "consent_withdrawn"  # the consent the session depended on
    SESSION_HALTED = "session_halted"
    CHECK_IN_SETTLED = "check_in_settled"  # the check-in took place, was missed or ended
    PLAN_CLOSED = "plan_closed"  # the after-care or support plan it belonged to was stopped


class NoticeReason(StrEnum):
    """What needs a member of staff on one of their cases."""

    SESSION_HALTED = "session_halted"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    SEVERE_FLAG = "severe_flag"
    REASSESSMENT_DUE = "reassessment_due"


Hour = Annotated[int, Field(ge=0, le=24)]


@registry.register
class RemindersChosen(DomainEvent):
    """The person opted into these reminders, on one of their contact routes, only between
    `earliest_hour` and `latest_hour` on the clock of `timezone` (an IANA name: theirs, or
    their agency's when they named none; None in events recorded before it existed: UTC),
    `lead_hours` before what they remind of. A later choice replaces it whole."""

    event_type: ClassVar[str] = "RemindersChosen"
    person_id: PseudoId
    route_id: UUID
    kinds: tuple[ReminderKind, ...]
    earliest_hour: Hour
    latest_hour: Hour
    lead_hours: int = Field(ge=1, le=168)
    timezone: TimeZoneName | None = None


@registry.register
class RemindersStopped(DomainEvent):
    """Every reminder stopped at once: nothing more is sent, whatever is queued."""

    event_type: ClassVar[str] = "RemindersStopped"
    person_id: PseudoId


@registry.register
class ReminderQueued(DomainEvent):
    """A reminder to send at `due_at`: of a session (`session_id`, and `form`: the consent it
    depends on) or of an after-care or support check-in (`check_in_id`, `plan`: the aftercare
    stream it belongs to)."""

    event_type: ClassVar[str] = "ReminderQueued"
    reminder_id: UUID
    person_id: PseudoId
    kind: ReminderKind
    session_id: PseudoId | None = None
    form: str | None = None
    due_at: AwareDatetime
    check_in_id: UUID | None = None
    plan: Annotated[str, StringConstraints(max_length=200)] | None = None


@registry.register
class ReminderCancelled(DomainEvent):
    """A queued reminder will not be sent: what it reminded of can no longer happen."""

    event_type: ClassVar[str] = "ReminderCancelled"
    reminder_id: UUID
    cause: ReminderCancelCause
    cause_event_id: UUID


@registry.register
class StaffNotified(DomainEvent):
    """A member of staff is told that something on their case needs them, once per cause."""

    event_type: ClassVar[str] = "StaffNotified"
    notice_id: UUID
    practitioner_id: PseudoId
    reason: NoticeReason
    cause_event_id: UUID


__all__ += [  # reminders and notices
    "NOTICES_STREAM",
    "REMINDERS_STREAM",
    "NoticeReason",
    "ReminderCancelCause",
    "ReminderCancelled",
    "ReminderKind",
    "ReminderQueued",
    "RemindersChosen",
    "RemindersStopped",
    "StaffNotified",
    "TimeZoneName",
    "notices_stream",
    "reminders_stream",
]


# ==== enquiries (stream: `enquiry:<agency>:<ref>`) ===============================================
# Someone approaches the agency, perhaps without a name: the enquiry has a pseudonymous reference
# and nothing else that says who they are. How to contact them back, if they want it, is sealed
# under a data key of the enquiry's own (`personal_owner` = the reference), so destroying that
# key erases it without touching anything else. The enquirer becomes a registered person only
# by their own choice (`EnquirerRegistered`, their own act), never by staff linking records.
ENQUIRY_STREAM = "enquiry:"


def enquiry_stream(agency: str, enquiry_ref: str) -> str:
    return f"{ENQUIRY_STREAM}{agency}:{enquiry_ref}"


class EnquiryRoute(StrEnum):
    SELF = "self"  # they approached the agency themself
    AGENCY = "agency"  # another organisation put them in touch (`referring_agency`)


class EnquiryTopic(StrEnum):
    """What they asked about (a closed set: never their words)."""

    RJ_INFORMATION = "rj_information"  # what restorative justice is and how it works here
    SUPPORT_SERVICES = "support_services"
    REPORTING_OPTIONS = "reporting_options"  # the criminal justice system, alongside RJ
    SAFETY = "safety"
    SOMEONE_ELSE = "someone_else"  # asking for someone they know
    OTHER = "other"


class EnquiryOutcome(StrEnum):
    INFORMATION_GIVEN = "information_given"
    SIGNPOSTED = "signposted"  # to another service (support, if offered, is aftercare's plan)
    BECAME_REFERRAL = "became_referral"  # a referral or a case followed
    CLOSED_NO_CONTACT = "closed_no_contact"


@registry.register
class EnquiryRecorded(DomainEvent):
    """An enquiry: its route (and which organisation, by id, with its contact person by
    pseudonymous id) and what it was about. Nothing about who asked."""

    event_type: ClassVar[str] = "EnquiryRecorded"
    enquiry_ref: PseudoId
    agency_id: AgencyId
    route: EnquiryRoute
    referring_agency: AgencyId | None = None
    contact_person_id: PseudoId | None = None
    topics: tuple[EnquiryTopic, ...] = Field(min_length=1)


@registry.register
class EnquiryContactRecorded(DomainEvent):
    """How the enquirer may be contacted back (replaces any earlier one): the channel in clear,
    the address or number and safe times sealed under the enquiry's own data key."""

    event_type: ClassVar[str] = "EnquiryContactRecorded"
    personal_fields: ClassVar[tuple[str, ...]] = ("address", "safe_times")
    personal_owner: ClassVar[str | None] = "enquiry_ref"

    enquiry_ref: PseudoId
    channel: ContactChannel
    address: PersonalText | None = None
    safe_times: PersonalText | None = None
    may_leave_messages: bool = False


@registry.register
class EnquiryContactErased(DomainEvent):
    """The enquiry's data key was destroyed: the way back to the enquirer is unreadable in every
    copy from now on (R7: the history keeps its shape)."""

    event_type: ClassVar[str] = "EnquiryContactErased"
    enquiry_ref: PseudoId


@registry.register
class EnquiryContactRead(DomainEvent):
    """Someone read the way back to the enquirer (who and when: the envelope; why: `purpose`)."""

    event_type: ClassVar[str] = "EnquiryContactRead"
    enquiry_ref: PseudoId
    purpose: ContactReadPurpose


@registry.register
class EnquiryOutcomeRecorded(DomainEvent):
    event_type: ClassVar[str] = "EnquiryOutcomeRecorded"
    enquiry_ref: PseudoId
    outcome: EnquiryOutcome


@registry.register
class EnquirerRegistered(DomainEvent):
    """The enquirer chose to become a registered person (the actor is that person): from now on
    the enquiry and `person_id` are one person's, who may open a case."""

    event_type: ClassVar[str] = "EnquirerRegistered"
    enquiry_ref: PseudoId
    person_id: PseudoId


__all__ += [  # enquiries
    "ENQUIRY_STREAM",
    "EnquirerRegistered",
    "EnquiryContactErased",
    "EnquiryContactRead",
    "EnquiryContactRecorded",
    "EnquiryOutcome",
    "EnquiryOutcomeRecorded",
    "EnquiryRecorded",
    "EnquiryRoute",
    "EnquiryTopic",
    "enquiry_stream",
]


# ==== community volunteers (issue 21; streams `staff:<person>` and the case id) ==================
# A volunteer is enrolled like staff (`StaffEnrolled`, role volunteer), vetted and trained as the
# agency's coordinators record it, and allocated to a case for one part only. Codes and dates:
# never a certificate number, a referee or anything else about the person.


class VolunteerPart(StrEnum):
    """What a volunteer is allocated to a case for: all they may see of it follows from this."""

    SUPPORT_PERSON = "support_person"  # accompanies a participant to meetings
    CONFERENCE_MEMBER = "conference_member"  # a community member of the case's team conferences
    CIRCLE_COFACILITATOR = "circle_cofacilitator"  # co-facilitates a circle with a practitioner


class VettingCheck(StrEnum):
    BACKGROUND_CHECK = "background_check"  # e.g. an enhanced criminal record check
    REFERENCES = "references"


class VettingOutcome(StrEnum):
    CLEAR = "clear"
    NOT_CLEAR = "not_clear"  # recorded also when a clear check is withdrawn


class VolunteerCourse(StrEnum):
    RJ_INDUCTION = "rj_induction"
    SEXUAL_HARM_AWARENESS = "sexual_harm_awareness"
    SAFEGUARDING = "safeguarding"
    CONFIDENTIALITY = "confidentiality"
    CIRCLE_FACILITATION = "circle_facilitation"


# What must be recorded and current before a volunteer is allocated for a part.
REQUIRED_VETTING = frozenset({VettingCheck.BACKGROUND_CHECK, VettingCheck.REFERENCES})
_EVERY_PART = (
    VolunteerCourse.RJ_INDUCTION,
    VolunteerCourse.SEXUAL_HARM_AWARENESS,
    VolunteerCourse.SAFEGUARDING,
    VolunteerCourse.CONFIDENTIALITY,
)
REQUIRED_TRAINING: dict[VolunteerPart, frozenset[VolunteerCourse]] = {
    VolunteerPart.SUPPORT_PERSON: frozenset(_EVERY_PART),
    VolunteerPart.CONFERENCE_MEMBER: frozenset(_EVERY_PART),
    VolunteerPart.CIRCLE_COFACILITATOR: frozenset(
        {*_EVERY_PART, VolunteerCourse.CIRCLE_FACILITATION}
    ),
}


@registry.register
class VolunteerVetted(DomainEvent):
    """A vetting check of a volunteer and its outcome, current until `valid_until` (inclusive);
    a later record of the same check supersedes it (a withdrawn check is `not_clear`)."""

    event_type: ClassVar[str] = "VolunteerVetted"
    agency_id: AgencyId
    person_id: PseudoId
    check: VettingCheck
    outcome: VettingOutcome
    checked_on: date
    valid_until: date


@registry.register
class VolunteerTrained(DomainEvent):
    """A course the volunteer completed, current until `valid_until` (inclusive; None: does not
    lapse); a later record of the same course supersedes it."""

    event_type: ClassVar[str] = "VolunteerTrained"
    agency_id: AgencyId
    person_id: PseudoId
    course: VolunteerCourse
    completed_on: date
    valid_until: date | None = None


@registry.register
class VolunteerAllocated(DomainEvent):
    """A volunteer allocated to the case for `part`, while the vetting and training it was
    allocated on are current: `valid_until` is the earliest day one of them lapses, after which
    the allocation lets them in no more (a coordinator allocates again once renewed)."""

    event_type: ClassVar[str] = "VolunteerAllocated"
    agency_id: AgencyId
    case_id: PseudoId
    volunteer_id: PseudoId
    part: VolunteerPart
    reason: AllocationReason
    valid_until: date


@registry.register
class VolunteerDeallocated(DomainEvent):
    event_type: ClassVar[str] = "VolunteerDeallocated"
    agency_id: AgencyId
    case_id: PseudoId
    volunteer_id: PseudoId
    reason: AllocationReason


__all__ += [  # community volunteers
    "REQUIRED_TRAINING",
    "REQUIRED_VETTING",
    "VettingCheck",
    "VettingOutcome",
    "VolunteerAllocated",
    "VolunteerCourse",
    "VolunteerDeallocated",
    "VolunteerPart",
    "VolunteerTrained",
    "VolunteerVetted",
]
