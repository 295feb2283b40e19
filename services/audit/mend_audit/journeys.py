"""Journeys a practitioner would recognise, driven through the four services' own HTTP APIs.

A `Driver` holds one `httpx.AsyncClient` per service (the base URLs of a running platform, or
ASGI transports of services run in process) and a token source `token(role, person_id, cases)`
that returns an `Authorization` header. `Case` walks one case through readable steps, each a
request to the service that owns it, as the person whose act it is (the harmed person opens,
chooses and withdraws; the facilitator prepares, assesses, starts; the coordinator registers the
team). Every step keeps the ids of the events it wrote under a short name.

Nothing sleeps blindly. A consequence in another service (a halt caused by a withdrawal,
after-care offered for it, a reassessment falling due) is waited for by polling the owning
service's read API until it shows, with a timeout. A gated request (schedule, start) that the
sessions service refuses only because a consent or risk fact has not reached it yet over Kafka is
asked again until it passes or the timeout ends; a request refused for any other reason fails at
once, naming the step, the status and the service's reason.

Each journey returns a `Journey`: the case id, the ids of its key events, and the consequences
it waited for (`Effect`: which event, in which service, caused by which named event), so a test
or the demo can check the audit history against it (`causation_problems`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid4

import httpx
from mend_events.settings import SERVICES

if TYPE_CHECKING:
    from mend_audit.reader import AuditReader
    from mend_audit.verify import Report

T = TypeVar("T")
Headers = Mapping[str, str]
# token(role, person_id, cases) -> an Authorization header for that identity.
TokenSource = Callable[[str, str, tuple[str, ...]], Headers]

HARMED, RESPONSIBLE, SUPPORTER = "harmed_person", "responsible_person", "supporter"
PRACTITIONER, COORDINATOR = "practitioner", "coordinator"

F2F, LETTER, CONFERENCE, UNSENT_LETTER = "face_to_face", "letter", "conference", "unsent_letter"
# Forms that put people in one room: a survivor specialist on the team, and a harmful sexual
# behaviour specialist when the responsible person is there (mend_sessions.forms).
_DIRECT = frozenset({F2F, CONFERENCE, "family_circle", "healing_circle", "story_telling"})
# Forms that never involve the responsible person.
_NEVER_WITH_RP = frozenset({UNSENT_LETTER, "story_telling"})

# Unmet gates that only mean "another service's fact has not reached the sessions service yet":
# asked again until they pass. Any other unmet gate is a real refusal.
_REMOTE_GATES = (
    "'s consent does not cover",
    "acknowledgement does not stand",
    "no current risk assessment permits",
    "unresolved severe risk flag",
)


class StepFailed(AssertionError):
    """A step's request was refused: the step, the request, the status and the reason."""

    def __init__(self, step: str, response: httpx.Response) -> None:
        body = _json(response)
        reason = body.get("reason") or response.text[:300]
        gates = body.get("gates")
        if gates:
            reason = "; ".join(gates)
        request = response.request
        super().__init__(
            f"{step}: {request.method} {request.url.path} answered {response.status_code}: {reason}"
        )
        self.step = step
        self.status = response.status_code
        self.body = body


class NotInTime(AssertionError):
    """A consequence a journey waits for did not show within the timeout."""


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _case_on_its_way(response: httpx.Response) -> bool:
    """A service that has not taken in the case's opening from the broker yet (404 naming
    `case_id`): asked again until it has."""
    return response.status_code == 404 and _json(response).get("field") == "case_id"


def _waiting_for_other_services(response: httpx.Response) -> bool:
    body = _json(response)
    gates = body.get("gates") if body.get("error") == "gates_unmet" else None
    return bool(gates) and all(any(p in g for p in _REMOTE_GATES) for g in gates or ())


def _either(
    first: Callable[[httpx.Response], bool] | None, second: Callable[[httpx.Response], bool]
) -> Callable[[httpx.Response], bool]:
    return second if first is None else (lambda r: first(r) or second(r))


# --- who takes part ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Team:
    """The agency's practitioners: the facilitator the harmed person chooses, the specialists a
    meeting needs, and the coordinator who registers them."""

    coordinator: str = "coord-mend01"
    facilitator: str = "prac-fac001"
    survivor_specialist: str = "prac-surv01"
    hsb_specialist: str = "prac-hsb001"


@dataclass(frozen=True, slots=True)
class Cast:
    """The people of one case, by pseudonymous id (new ones for every case)."""

    harmed: str
    responsible: str
    supporter: str

    @classmethod
    def fresh(cls) -> Cast:
        s = uuid4().hex[:8]
        return cls(f"hp-{s}", f"rp-{s}", f"sup-{s}")

    def role_of(self, person: str) -> str:
        return {self.harmed: HARMED, self.responsible: RESPONSIBLE, self.supporter: SUPPORTER}[
            person
        ]

    def short(self, person: str) -> str:
        return {self.harmed: "hp", self.responsible: "rp", self.supporter: "sup"}[person]


@dataclass(frozen=True, slots=True)
class Effect:
    """A consequence a journey waited for: an event of `event_type` recorded by `service`,
    caused by the event the journey knows as `cause`, carrying `facts`; `event_id` when the
    service's API names it."""

    name: str
    service: str
    event_type: str
    cause: str
    facts: Mapping[str, Any] = field(default_factory=dict)
    event_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Journey:
    """What a journey did: its case, its key events by short name, and the consequences it
    waited for."""

    name: str
    title: str
    case_id: str
    cast: Cast
    events: Mapping[str, UUID]
    effects: tuple[Effect, ...]
    sessions: Mapping[str, str]


# --- the driver -------------------------------------------------------------------------------


class Driver:
    """One HTTP client per service, a token source, and patient polling."""

    def __init__(
        self,
        clients: Mapping[str, httpx.AsyncClient],
        token: TokenSource,
        *,
        team: Team | None = None,
        timeout: float = 30.0,
        interval: float = 0.05,
    ) -> None:
        missing = [s for s in SERVICES if s not in clients]
        if missing:
            raise ValueError(f"no client for {', '.join(missing)}")
        self.clients = dict(clients)
        self._token = token
        self._tokens: dict[tuple[str, str, tuple[str, ...]], dict[str, str]] = {}
        self.team = team or Team()
        self.timeout = timeout
        self.interval = interval
        self._team_registered = False

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        token: TokenSource,
        *,
        urls: Mapping[str, str] | None = None,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        **options: Any,
    ) -> AsyncIterator[Driver]:
        """A driver over base URLs (a running platform) or ASGI transports (in process)."""
        async with contextlib.AsyncExitStack() as stack:
            clients = {}
            for service in SERVICES:
                if transports is not None and service in transports:
                    client = httpx.AsyncClient(
                        transport=transports[service], base_url=f"http://{service}"
                    )
                elif urls is not None and service in urls:
                    client = httpx.AsyncClient(base_url=urls[service], timeout=30.0)
                else:
                    raise ValueError(f"neither a URL nor a transport for {service}")
                clients[service] = await stack.enter_async_context(client)
            yield cls(clients, token, **options)

    def auth(self, role: str, person: str, cases: tuple[str, ...] = ()) -> dict[str, str]:
        key = (role, person, cases)
        if key not in self._tokens:
            self._tokens[key] = dict(self._token(role, person, cases))
        return self._tokens[key]

    async def health(self) -> dict[str, bool]:
        """Whether each service answers its health check."""
        out = {}
        for service, client in self.clients.items():
            try:
                out[service] = (await client.get("/health")).status_code == 200
            except httpx.HTTPError:
                out[service] = False
        return out

    async def post(
        self,
        service: str,
        path: str,
        body: Any,
        headers: Headers,
        *,
        step: str,
        retry_if: Callable[[httpx.Response], bool] | None = None,
    ) -> dict[str, Any]:
        """POST; asked again while the service says it is catching up (503) or `retry_if`
        holds, until the timeout; any other refusal fails the step at once."""
        deadline = time.monotonic() + self.timeout
        while True:
            r = await self.clients[service].post(path, json=body, headers=dict(headers))
            if r.status_code in (200, 201):
                return r.json()
            again = r.status_code == 503 or (retry_if is not None and retry_if(r))
            if not again or time.monotonic() > deadline:
                raise StepFailed(step, r)
            await asyncio.sleep(self.interval)

    async def get(
        self, service: str, path: str, headers: Headers, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """GET; None while the service does not know it yet (404) or is catching up (503)."""
        r = await self.clients[service].get(path, headers=dict(headers), params=params)
        if r.status_code in (404, 503):
            return None
        if r.status_code != 200:
            raise StepFailed(f"read {path}", r)
        return r.json()

    async def eventually(
        self, what: str, probe: Callable[[], Awaitable[T | None]], within: float | None = None
    ) -> T:
        """Poll `probe` until it returns something truthy; NotInTime after `within` seconds
        (the driver's timeout by default)."""
        limit = self.timeout if within is None else within
        deadline = time.monotonic() + limit
        while True:
            value = await probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise NotInTime(f"{what}: not within {limit:.0f}s")
            await asyncio.sleep(self.interval)

    async def register_team(self) -> None:
        """The coordinator registers the practitioners' qualifications (once per driver; a
        registration that is already on record writes nothing)."""
        if self._team_registered:
            return
        t = self.team
        coordinator = self.auth(COORDINATOR, t.coordinator)
        for pid, level, specialisms in (
            (t.facilitator, 2, []),
            (t.survivor_specialist, 2, ["survivor_specialist"]),
            (t.hsb_specialist, 2, ["hsb_specialist"]),
        ):
            body = {
                "practitioner_id": pid,
                "rj_trained": True,
                "sexual_harm_trained": True,
                "level": level,
                "specialisms": specialisms,
            }
            await self.post("sessions", "/practitioners", body, coordinator, step=f"register {pid}")
        self._team_registered = True

    def case(self, name: str, title: str, cast: Cast | None = None) -> Case:
        """A new case (a new id every time, so a journey can run again and again)."""
        return Case(self, name, title, f"case-{uuid4().hex[:12]}", cast or Cast.fresh())


# --- one case, step by step -------------------------------------------------------------------


class Case:
    """One case walked through the services. `events` holds the ids of what each step wrote,
    `effects` the consequences waited for, `sessions` the session ids by label."""

    def __init__(self, driver: Driver, name: str, title: str, case_id: str, cast: Cast) -> None:
        self.driver = driver
        self.name = name
        self.title = title
        self.id = case_id
        self.cast = cast
        self.events: dict[str, UUID] = {}
        self.effects: list[Effect] = []
        self.sessions: dict[str, str] = {}

    # -- identities
    def person(self, pid: str) -> dict[str, str]:
        return self.driver.auth(self.cast.role_of(pid), pid)

    @property
    def harmed(self) -> dict[str, str]:
        return self.person(self.cast.harmed)

    @property
    def facilitator(self) -> dict[str, str]:
        return self.driver.auth(PRACTITIONER, self.driver.team.facilitator, (self.id,))

    def journey(self) -> Journey:
        return Journey(
            self.name,
            self.title,
            self.id,
            self.cast,
            dict(self.events),
            tuple(self.effects),
            dict(self.sessions),
        )

    # -- recording
    def _keep(self, name: str, result: Mapping[str, Any], event_type: str | None = None) -> UUID:
        written = [e for e in result.get("events", []) if event_type in (None, e["type"])]
        if not written:
            raise AssertionError(f"{name}: the service wrote no {event_type or 'event'}")
        self.events[name] = UUID(written[0]["event_id"])
        return self.events[name]

    async def _do(
        self,
        service: str,
        path: str,
        body: Any,
        headers: Headers,
        name: str,
        *,
        event_type: str | None = None,
        retry_if: Callable[[httpx.Response], bool] | None = None,
    ) -> UUID:
        if service != "sessions":
            # The case is the sessions service's: the others learn of it over the broker.
            retry_if = _either(retry_if, _case_on_its_way)
        result = await self.driver.post(
            service, path, body, headers, step=f"{self.name}: {name}", retry_if=retry_if
        )
        return self._keep(name, result, event_type)

    # -- opening, facilitator, preferences (the harmed person's own choices)
    async def open(self, harm: str = "sexual_assault", stage: str = "post_sentence") -> UUID:
        await self.driver.register_team()
        body = {"harm_category": harm, "justice_stage": stage, "route": "self_referral"}
        return await self._do("sessions", f"/cases/{self.id}/open", body, self.harmed, "opened")

    async def choose_facilitator(self) -> UUID:
        body = {"practitioner_id": self.driver.team.facilitator}
        return await self._do(
            "sessions", f"/cases/{self.id}/facilitator", body, self.harmed, "facilitator_chosen"
        )

    async def set_preferences(
        self,
        forms: Sequence[str],
        *,
        responsible_person_takes_part: bool,
        min_gap_days: int = 0,
        invited: Sequence[str] = (),
        progress_updates: bool = False,
    ) -> UUID:
        body = {
            "min_gap_days": min_gap_days,
            "permitted_forms": list(forms),
            "speaks_first": self.cast.harmed,
            "responsible_person_takes_part": responsible_person_takes_part,
            "invited": list(invited),
            "progress_updates": progress_updates,
        }
        return await self._do(
            "sessions", f"/cases/{self.id}/preferences", body, self.harmed, "preferences_set"
        )

    # -- who takes part: the harmed person agreed (preferences), the facilitator enrols
    async def enrol(self, person: str) -> UUID:
        body = {"person_id": person, "role": self.cast.role_of(person)}
        return await self._do(
            "sessions",
            f"/cases/{self.id}/participants",
            body,
            self.facilitator,
            f"enrolled:{self.cast.short(person)}",
        )

    async def wait_taking_part(self, person: str) -> None:
        """Until every other service has taken in, over the broker, that `person` takes part
        (each answers their own read with 200 then, and 403 or 404 before)."""
        reads = {
            "consent": f"/cases/{self.id}/consents",
            "risk": f"/cases/{self.id}/safety-plans",
            "aftercare": f"/cases/{self.id}/aftercare",
        }
        for service, path in reads.items():

            async def known(service: str = service, path: str = path) -> bool:
                client = self.driver.clients[service]
                r = await client.get(path, headers=dict(self.person(person)))
                return r.status_code == 200

            await self.driver.eventually(f"{self.name}: {service} knows {person}", known)

    # -- consent (each participant's own act) and acknowledgement
    async def give_consent(
        self, person: str, scope: str, *, expires_at: datetime | None = None
    ) -> UUID:
        body: dict[str, Any] = {
            "participant_id": person,
            "scope": scope,
            "informed_how": "both",
            "no_incentive_attested": True,
            "witnessed_by": self.driver.team.facilitator,
        }
        if expires_at is not None:
            body["expires_at"] = expires_at.isoformat()
        name = f"consent:{self.cast.short(person)}:{scope}"
        return await self._do(
            "consent", f"/cases/{self.id}/consents", body, self.person(person), name
        )

    async def give_consents(self, person: str, *scopes: str) -> None:
        for scope in scopes:
            await self.give_consent(person, scope)

    async def acknowledge(self, basis: str = "written_statement") -> UUID:
        """The facilitator records the responsible person's acknowledgement of the harm."""
        body = {"responsible_person_id": self.cast.responsible, "basis": basis}
        return await self._do(
            "consent", f"/cases/{self.id}/acknowledgements", body, self.facilitator, "acknowledged"
        )

    async def withdraw(
        self, person: str, scope: str | None = None, reason: str | None = None
    ) -> UUID:
        """The participant withdraws one scope, or everything: no reason required (R2)."""
        body: dict[str, Any] = {"participant_id": person}
        if scope is not None:
            body["scope"] = scope
        if reason is not None:
            body["reason"] = reason  # sealed by the consent service, never in the audit output
        return await self._do(
            "consent", f"/cases/{self.id}/withdrawals", body, self.person(person), "withdrawn"
        )

    async def withdraw_acknowledgement(self, ground: str = "retracted") -> UUID:
        """The responsible person says their acknowledgement no longer stands."""
        body = {"responsible_person_id": self.cast.responsible, "ground": ground}
        return await self._do(
            "consent",
            f"/cases/{self.id}/acknowledgements/withdrawal",
            body,
            self.person(self.cast.responsible),
            "acknowledgement_withdrawn",
        )

    async def wait_lapsed(self, person: str, scope: str) -> UUID:
        """Wait for the consent service's sweeper to record the lapse of an expired grant."""

        async def lapsed() -> UUID | None:
            doc = await self.driver.get(
                "consent", f"/cases/{self.id}/consent-history", self.facilitator
            )
            for e in (doc or {}).get("events", []):
                data = e.get("data") or {}
                if e["type"] == "ConsentLapsed" and (
                    data.get("participant_id"),
                    data.get("scope"),
                ) == (person, scope):
                    return UUID(e["event_id"])
            return None

        self.events["lapsed"] = await self.driver.eventually(
            f"{self.name}: ConsentLapsed of {scope}", lapsed
        )
        return self.events["lapsed"]

    # -- risk (the facilitator, signed off by a specialist)
    async def assess(
        self, *permits: tuple[str, bool], stage: str = "full", safety_plan: bool = True
    ) -> UUID:
        """An assessment: the legal restrictions checked, a decision to proceed permitting
        `permits` ((form, with the responsible person)), signed off by a specialist. The
        `initial` one is about suitability, before a facilitator has met the parties; only the
        `full` one, after preparation, permits contact, and comes with a safety plan agreed
        with the harmed person."""
        assessment = str(uuid4())
        base = f"/cases/{self.id}"
        fac = self.facilitator
        full = stage == "full"
        prefix = "" if full else "suitability_"
        await self._do(
            "risk",
            f"{base}/assessments",
            {"assessment_id": assessment, "stage": stage},
            fac,
            f"{prefix}assessment_started",
        )
        for kind in ("protective_order", "bail_or_licence_conditions", "coercive_control"):
            body = {"assessment_id": assessment, "factor": {"kind": kind, "status": "absent"}}
            await self._do("risk", f"{base}/risk-factors", body, fac, f"{prefix}factor:{kind}")
        body = {
            "assessment_id": assessment,
            "decision": "proceed",
            "permitted_forms": [
                {"form": form, "with_responsible_person": with_rp} for form, with_rp in permits
            ],
            "reasons": ["suitable_with_safeguards"],
            "signed_off_by": self.driver.team.survivor_specialist,
            "valid_for_days": 90,
        }
        decided = await self._do(
            "risk", f"{base}/assessment-completions", body, fac, f"{prefix}assessed"
        )
        if full and safety_plan:
            plan = {
                "assessment_id": assessment,
                "agreed_with": self.cast.harmed,
                "separate_arrival_departure": True,
                "support_person_present": True,
                "breaks": True,
                "exit_plan": True,
                "code_word_set": True,
            }
            await self._do("risk", f"{base}/safety-plans", plan, fac, "safety_plan")
        return decided

    async def raise_flag(self, severity: str, category: str, affects: str | None = None) -> UUID:
        body = {
            "flag_id": str(uuid4()),
            "severity": severity,
            "category": category,
            "affects": affects,
        }
        return await self._do(
            "risk",
            f"/cases/{self.id}/flags",
            body,
            self.facilitator,
            "flag_raised",
            event_type="RiskFlagRaised",
        )

    async def wait_reassessment_due(self, cause: str, trigger: str) -> Effect:
        """Wait until the risk service records a reassessment due because of `cause`."""
        cause_id = str(self.events[cause])

        async def due() -> bool:
            doc = await self.driver.get("risk", f"/cases/{self.id}/risk", self.facilitator)
            return any(
                str(t.get("trigger_event_id")) == cause_id and t.get("trigger") == trigger
                for t in (doc or {}).get("reassessment_triggers", [])
            )

        await self.driver.eventually(f"{self.name}: reassessment due after {cause}", due)
        effect = Effect(
            f"reassessment:{cause}",
            "risk",
            "RiskReassessmentDue",
            cause,
            {"trigger": trigger, "trigger_event_id": cause_id},
        )
        self.effects.append(effect)
        return effect

    # -- preparation and contact (the facilitator runs them)
    async def prepare(self, person: str) -> UUID:
        body = {"participant": {"id": person, "role": self.cast.role_of(person)}}
        return await self._do(
            "sessions",
            f"/cases/{self.id}/preparations",
            body,
            self.facilitator,
            f"prepared:{self.cast.short(person)}",
        )

    async def schedule(
        self,
        label: str,
        form: str,
        participants: Sequence[str],
        *,
        at: timedelta = timedelta(minutes=5),
    ) -> UUID:
        """Schedule a contact session through every gate (R4); the team the form needs."""
        t = self.driver.team
        team: list[str] = []
        if form in _DIRECT:
            team.append(t.survivor_specialist)
            if self.cast.responsible in participants:
                team.append(t.hsb_specialist)
        session_id = self.sessions[label] = f"sess-{uuid4().hex[:10]}"
        body = {
            "session_id": session_id,
            "form": form,
            "participants": [{"id": p, "role": self.cast.role_of(p)} for p in participants],
            "facilitator_id": t.facilitator,
            "team": team,
            "scheduled_for": (datetime.now(UTC) + at).isoformat(),
        }
        return await self._do(
            "sessions",
            f"/cases/{self.id}/sessions",
            body,
            self.facilitator,
            f"scheduled:{label}",
            retry_if=_waiting_for_other_services,
        )

    def _session(self, label: str) -> str:
        return f"/cases/{self.id}/sessions/{self.sessions[label]}"

    async def start(self, label: str) -> UUID:
        """Start a scheduled session: every gate is checked again."""
        return await self._do(
            "sessions",
            f"{self._session(label)}/start",
            None,
            self.facilitator,
            f"started:{label}",
            retry_if=_waiting_for_other_services,
        )

    async def complete(self, label: str) -> UUID:
        return await self._do(
            "sessions",
            f"{self._session(label)}/complete",
            None,
            self.facilitator,
            f"completed:{label}",
        )

    async def halt(self, label: str, person: str) -> UUID:
        """A participant stops the session; no reason is asked (R3)."""
        return await self._do(
            "sessions",
            f"{self._session(label)}/halt",
            None,
            self.person(person),
            f"halted:{label}",
        )

    async def agree(self, label: str, items: Sequence[tuple[str, str, date | None]]) -> UUID:
        """The outcome agreement, consented by every party present: (owner, commitment, due)."""
        body = {
            "items": [
                {"owner_id": owner, "commitment": code, "due_on": due.isoformat() if due else None}
                for owner, code, due in items
            ],
            "consented_by": [self.cast.harmed, self.cast.responsible],
        }
        return await self._do(
            "sessions", f"{self._session(label)}/agreement", body, self.facilitator, "agreement"
        )

    async def close(self, reason: str = "harmed_person_ready") -> UUID:
        return await self._do(
            "sessions",
            f"/cases/{self.id}/close",
            {"reason": reason},
            self.harmed,
            "case_closed",
            event_type="CaseClosed",
        )

    async def session_doc(self, label: str) -> dict[str, Any] | None:
        doc = await self.driver.get("sessions", f"/cases/{self.id}", self.facilitator)
        sessions = (doc or {}).get("sessions", [])
        return next((s for s in sessions if s["session_id"] == self.sessions[label]), None)

    async def wait_halted(self, label: str, cause: str, halt_cause: str) -> UUID:
        """Wait until the sessions service halts the session because of the event known as
        `cause`, with the kind of halt `halt_cause`."""
        cause_id = str(self.events[cause])

        async def halted() -> dict[str, Any] | None:
            session = await self.session_doc(label)
            return session.get("halt") if session and session["status"] == "halted" else None

        halt = await self.driver.eventually(f"{self.name}: {label} halted", halted)
        if (halt["cause"], halt["cause_event_id"]) != (halt_cause, cause_id):
            raise AssertionError(
                f"{self.name}: {label} halted for {halt['cause']} by {halt['cause_event_id']}, "
                f"not for {halt_cause} by {cause} ({cause_id})"
            )
        name = f"halted:{label}"
        self.events[name] = UUID(halt["event_id"])
        self.effects.append(
            Effect(
                name,
                "sessions",
                "SessionHalted",
                cause,
                {"cause": halt_cause, "cause_event_id": cause_id, "halted_by_id": None},
                self.events[name],
            )
        )
        return self.events[name]

    async def still_scheduled(self, label: str) -> bool:
        session = await self.session_doc(label)
        return session is not None and session["status"] == "scheduled"

    # -- after-care
    async def aftercare(self) -> dict[str, Any]:
        doc = await self.driver.get("aftercare", f"/cases/{self.id}/aftercare", self.facilitator)
        return doc or {}

    async def wait_offer(self, cause: str, offer_cause: str, *links: tuple[str, str]) -> Effect:
        """Wait until after-care is offered to the harmed person for the cause chain that
        `cause` began: one offer a chain, answering `cause` or whichever of its `links` (the
        journey's name of an event it caused, and that offer's cause) reached after-care
        first."""
        names = {str(self.events[n]): (n, kind) for n, kind in ((cause, offer_cause), *links)}
        chain = str(self.events[cause])
        found: list[dict[str, Any]] = []

        async def offered() -> bool:
            offers = (await self.aftercare()).get("offers", [])
            found[:] = [
                o for o in offers if o["cause_event_id"] in names or o.get("chain") == chain
            ]
            return bool(found)

        await self.driver.eventually(f"{self.name}: after-care offered for {cause}", offered)
        answered, kind = names[found[0]["cause_event_id"]]
        effect = Effect(
            f"offered:{cause}",
            "aftercare",
            "AftercareOffered",
            answered,
            {
                "cause": kind,
                "cause_event_id": found[0]["cause_event_id"],
                "harmed_person_id": self.cast.harmed,
            },
        )
        self.effects.append(effect)
        return effect

    async def wait_commitments(self, count: int) -> Effect:
        """Wait until after-care holds the agreement's commitments (one per item)."""

        async def recorded() -> bool:
            return len((await self.aftercare()).get("commitments", [])) >= count

        await self.driver.eventually(f"{self.name}: {count} commitment(s) recorded", recorded)
        effect = Effect("commitments", "aftercare", "CommitmentRecorded", "agreement")
        self.effects.append(effect)
        return effect

    def _aftercare(self, path: str) -> str:
        return f"/cases/{self.id}/aftercare{path}"

    async def accept_aftercare(self) -> UUID:
        return await self._do(
            "aftercare", self._aftercare("/acceptance"), None, self.harmed, "aftercare_accepted"
        )

    async def check_in(self, *, complete: bool = True) -> UUID:
        """The facilitator schedules a check-in with the harmed person (and records it held)."""
        check_in = str(uuid4())
        body = {
            "check_in_id": check_in,
            "participant_id": self.cast.harmed,
            "participant_role": HARMED,
            "due_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        }
        fac = self.facilitator
        scheduled = await self._do(
            "aftercare", self._aftercare("/check-ins"), body, fac, "check_in_scheduled"
        )
        if complete:
            await self._do(
                "aftercare",
                self._aftercare(f"/check-ins/{check_in}/completion"),
                None,
                fac,
                "check_in_completed",
            )
        return scheduled

    async def refer(self, person: str, kind: str) -> UUID:
        body = {
            "referral_id": str(uuid4()),
            "participant_id": person,
            "participant_role": self.cast.role_of(person),
            "kind": kind,
            "owner_id": self.driver.team.facilitator,
            "due_on": (datetime.now(UTC).date() + timedelta(days=30)).isoformat(),
        }
        return await self._do(
            "aftercare",
            self._aftercare("/referrals"),
            body,
            self.facilitator,
            f"referral:{self.cast.short(person)}",
        )

    async def take_desistance_plan(self) -> UUID:
        """The responsible person takes up desistance and reintegration support."""
        return await self._do(
            "aftercare",
            self._aftercare("/desistance-plan"),
            None,
            self.person(self.cast.responsible),
            "desistance_plan",
        )

    async def measure(self, measure: str, point: str, score: int) -> UUID:
        """A voluntary outcome measure, recorded under the harmed person's research consent
        (asked again until the after-care service has learnt of that consent)."""
        body = {"measure": measure, "point": point, "score": score}

        def consent_not_there_yet(r: httpx.Response) -> bool:
            return r.status_code == 422 and "not consented to outcome" in str(_json(r))

        return await self._do(
            "aftercare",
            self._aftercare("/outcome-measures"),
            body,
            self.harmed,
            f"measure:{measure}",
            retry_if=consent_not_there_yet,
        )

    async def close_aftercare(self, reason: str = "completed") -> UUID:
        return await self._do(
            "aftercare",
            self._aftercare("/closure"),
            {"reason": reason},
            self.harmed,
            "aftercare_closed",
        )

    # -- the stages every contact journey goes through
    async def up_to_preparation(
        self,
        forms: Sequence[str],
        *,
        responsible: bool = True,
        supporter: bool = False,
        min_gap_days: int = 0,
        extra_hp_scopes: Sequence[str] = (),
        hp_contact_now: bool = True,
    ) -> list[str]:
        """Opening, facilitator choice, preferences, each participant's consents, the
        acknowledgement, and the suitability assessment (answering the reassessment the
        facilitator's allocation made due). Returns the participants, harmed person first.
        Without `hp_contact_now`, the harmed person consents only to take part for now."""
        c = self.cast
        await self.open()
        await self.choose_facilitator()
        await self.set_preferences(
            forms,
            responsible_person_takes_part=responsible,
            min_gap_days=min_gap_days,
            invited=(
                *([c.responsible] if responsible else []),
                *([c.supporter] if supporter else []),
            ),
            progress_updates=responsible,
        )
        people = [c.harmed, *([c.responsible] if responsible else [])]
        people += [c.supporter] if supporter else []
        for person in people[1:]:
            await self.enrol(person)
        for person in people[1:]:
            await self.wait_taking_part(person)
        for person in people:
            # The responsible person has no part in forms without them (an unsent letter).
            own = [f for f in forms if person != c.responsible or f not in _NEVER_WITH_RP]
            scopes = ["take_part"]
            if person != c.harmed or hp_contact_now:
                scopes += [f"contact:{f}" for f in own]
            if person == c.harmed:
                scopes += extra_hp_scopes
            await self.give_consents(person, *scopes)
        if responsible:
            await self.acknowledge()
        await self.wait_reassessment_due("facilitator_chosen", "case_stage_changed")
        await self.assess(*self._permits(forms, responsible), stage="initial")
        return people

    @staticmethod
    def _permits(forms: Sequence[str], responsible: bool) -> list[tuple[str, bool]]:
        return [(f, responsible and f not in _NEVER_WITH_RP) for f in forms]

    async def up_to_contact(
        self,
        forms: Sequence[str],
        *,
        responsible: bool = True,
        supporter: bool = False,
        min_gap_days: int = 0,
        extra_hp_scopes: Sequence[str] = (),
        hp_contact_expires_in: timedelta | None = None,
    ) -> None:
        """Everything before contact: `up_to_preparation`, a preparation session with each
        participant, and the full assessment permitting `forms` once the facilitator has met
        them all (answering the reassessments the preparations made due). With
        `hp_contact_expires_in`, the harmed person's contact consents are given last and
        expire after that long."""
        people = await self.up_to_preparation(
            forms,
            responsible=responsible,
            supporter=supporter,
            min_gap_days=min_gap_days,
            extra_hp_scopes=extra_hp_scopes,
            hp_contact_now=hp_contact_expires_in is None,
        )
        for person in people:
            await self.prepare(person)
        for person in people:
            await self.wait_reassessment_due(
                f"prepared:{self.cast.short(person)}", "case_stage_changed"
            )
        await self.assess(*self._permits(forms, responsible))
        if hp_contact_expires_in is not None:
            expires = datetime.now(UTC) + hp_contact_expires_in
            for form in forms:
                await self.give_consent(self.cast.harmed, f"contact:{form}", expires_at=expires)


# --- the journeys -----------------------------------------------------------------------------


async def complete_journey(driver: Driver) -> Journey:
    """(a) The whole way: opening, facilitator choice, consents, acknowledgement, assessment,
    preparation, a letter exchange, a face-to-face meeting with an agreement, after-care,
    closure."""
    case = driver.case("complete", "the complete journey, from opening to closure")
    c = case.cast
    await case.up_to_contact(
        [LETTER, F2F], extra_hp_scopes=["progress_updates", "outcome_research"]
    )
    await case.schedule("letters", LETTER, [c.harmed, c.responsible])
    await case.start("letters")
    await case.complete("letters")
    await case.wait_offer("completed:letters", "session_completed")
    await case.schedule("meeting", F2F, [c.harmed, c.responsible])
    await case.start("meeting")
    today = datetime.now(UTC).date()
    await case.agree(
        "meeting",
        [
            (c.responsible, "therapeutic_treatment", today + timedelta(days=180)),
            (c.responsible, "no_contact", None),
        ],
    )
    await case.complete("meeting")
    await case.wait_offer("completed:meeting", "session_completed")
    await case.wait_commitments(2)
    await case.wait_reassessment_due("agreement", "case_stage_changed")
    await case.accept_aftercare()
    await case.check_in()
    await case.refer(c.harmed, "counselling")
    await case.take_desistance_plan()
    await case.refer(c.responsible, "circles_of_support_and_accountability")
    await case.measure("satisfaction", "m1", 8)
    await case.close_aftercare("completed")
    await case.close("harmed_person_ready")
    return case.journey()


async def withdrawal_while_scheduled(driver: Driver) -> Journey:
    """(b) The harmed person withdraws consent to a face-to-face meeting while it is scheduled:
    the meeting is halted by the withdrawal, and after-care is offered once for the two (one
    cause chain, one offer)."""
    case = driver.case(
        "withdrawal", "the harmed person withdraws consent while a meeting is scheduled"
    )
    c = case.cast
    await case.up_to_contact([F2F], min_gap_days=14)
    await case.schedule("meeting", F2F, [c.harmed, c.responsible], at=timedelta(days=3))
    await case.withdraw(c.harmed, f"contact:{F2F}", reason="I do not want to meet him")
    await case.wait_halted("meeting", "withdrawn", "consent_withdrawn")
    await case.wait_offer("withdrawn", "consent_withdrawn", ("halted:meeting", "session_halted"))
    await case.accept_aftercare()
    return case.journey()


async def halted_conference(driver: Driver) -> Journey:
    """(c) The harmed person halts a running conference with a supporter; after-care is
    offered and a reassessment falls due before anything is scheduled again."""
    case = driver.case("conference", "the harmed person halts a running conference")
    c = case.cast
    await case.up_to_contact([CONFERENCE], responsible=False, supporter=True)
    await case.schedule("conference", CONFERENCE, [c.harmed, c.supporter])
    await case.start("conference")
    await case.halt("conference", c.harmed)
    await case.wait_offer("halted:conference", "session_halted")
    await case.wait_reassessment_due("halted:conference", "session_halted_for_safety")
    return case.journey()


async def withdrawal_during_preparation(driver: Driver) -> Journey:
    """(d) The harmed person withdraws everything after their preparation session, before any
    contact: nothing was scheduled, so nothing is halted, and after-care is offered."""
    case = driver.case("preparation", "the harmed person withdraws during preparation")
    await case.up_to_preparation([F2F])
    await case.prepare(case.cast.harmed)
    await case.withdraw(case.cast.harmed)
    await case.wait_offer("withdrawn", "consent_withdrawn")
    return case.journey()


async def risk_flag_in_meeting(driver: Driver) -> Journey:
    """(e) A practitioner raises a severe risk flag (coercive control) during a face-to-face
    meeting: the meeting is halted by the flag, after-care is offered, reassessment is due."""
    case = driver.case("risk-flag", "a severe risk flag during a face-to-face meeting")
    c = case.cast
    await case.up_to_contact([F2F])
    await case.schedule("meeting", F2F, [c.harmed, c.responsible])
    await case.start("meeting")
    await case.raise_flag("severe", "coercive_control", affects=c.responsible)
    await case.wait_halted("meeting", "flag_raised", "risk_flag")
    await case.wait_offer("halted:meeting", "session_halted")
    await case.wait_reassessment_due("halted:meeting", "session_halted_for_safety")
    return case.journey()


async def acknowledgement_withdrawn(driver: Driver) -> Journey:
    """(f) The responsible person withdraws their acknowledgement: the meeting that depended on
    it is halted; the harmed person's unsent letter, which does not involve them, stays."""
    case = driver.case("acknowledgement", "the responsible person withdraws their acknowledgement")
    c = case.cast
    await case.up_to_contact([F2F, UNSENT_LETTER])
    await case.schedule("meeting", F2F, [c.harmed, c.responsible], at=timedelta(days=3))
    await case.schedule("unsent letter", UNSENT_LETTER, [c.harmed], at=timedelta(days=4))
    await case.withdraw_acknowledgement("retracted")
    await case.wait_halted("meeting", "acknowledgement_withdrawn", "acknowledgement_withdrawn")
    await case.wait_offer("halted:meeting", "session_halted")
    if not await case.still_scheduled("unsent letter"):
        raise AssertionError("the unsent letter did not depend on the acknowledgement")
    return case.journey()


async def consent_lapsed(driver: Driver, expires_in: timedelta = timedelta(seconds=5)) -> Journey:
    """(g) The harmed person's consent to a face-to-face meeting was given until a date that
    passes before the meeting: the consent service records the lapse, and the meeting is halted
    by it (cause consent_lapsed)."""
    case = driver.case("lapse", "consent lapses before a scheduled meeting")
    c = case.cast
    await case.up_to_contact([F2F], hp_contact_expires_in=expires_in)
    await case.schedule("meeting", F2F, [c.harmed, c.responsible], at=timedelta(days=2))
    await case.wait_lapsed(c.harmed, f"contact:{F2F}")
    await case.wait_halted("meeting", "lapsed", "consent_lapsed")
    await case.wait_offer("halted:meeting", "session_halted")
    return case.journey()


# --- checking a history against a journey ---------------------------------------------------


def causation_problems(journey: Journey, doc: Mapping[str, Any]) -> list[str]:
    """What the audit history (`AuditReader.history` / `mend audit history --json`) lacks:
    a key event of the journey missing, or a consequence not linked to its cause. [] when
    every step is there and every consequence names the event that caused it."""
    timeline = doc["timeline"]
    present = {item["event_id"] for item in timeline}
    problems = [
        f"{name} (event {event_id}) is not in the history"
        for name, event_id in journey.events.items()
        if str(event_id) not in present
    ]
    for effect in journey.effects:
        cause = str(journey.events[effect.cause])
        found = [
            item
            for item in timeline
            if item["type"] == effect.event_type
            and item["service"] == effect.service
            and (item.get("caused_by") or {}).get("event_id") == cause
            and all(item["facts"].get(k) == v for k, v in effect.facts.items())
            and (effect.event_id is None or item["event_id"] == str(effect.event_id))
        ]
        if not found:
            problems.append(
                f"{effect.name}: no {effect.event_type} in {effect.service} caused by "
                f"{effect.cause} ({cause}) with {dict(effect.facts)}"
            )
    return problems


async def verify_published(reader: AuditReader, within: float = 30.0) -> Report:
    """`mend audit verify`, once the relays have published what a journey just wrote: a report
    that holds but still counts events not published yet (past a relay's checkpoint) is asked
    again until `within` seconds have passed. A report with a problem is returned at once."""
    deadline = time.monotonic() + within
    while True:
        report = await reader.verify()
        waiting = report.ok and any(s.unpublished for s in report.services)
        if not waiting or time.monotonic() > deadline:
            return report
        await asyncio.sleep(0.2)
