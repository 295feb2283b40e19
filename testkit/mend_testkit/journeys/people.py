"""The vocabulary of the journeys: who takes part (`Team`, `Cast`), what a journey did
(`Journey`, `Effect`), how a step fails (`StepFailed`, `NotInTime`), and which refusals only mean
"another service has not heard yet" (asked again)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID, uuid4

import httpx

T = TypeVar("T")
Headers = Mapping[str, str]
# token(role, person_id) -> an Authorization header for that identity.
TokenSource = Callable[[str, str], Headers]
# allocate(case_id, practitioner_id): the hub's allocation of a case, into the services' trust
# models (a practitioner's cases are never in their token).
Allocator = Callable[[str, str], Awaitable[None]]

HARMED, RESPONSIBLE, SUPPORTER = "harmed_person", "responsible_person", "supporter"
PRACTITIONER, COORDINATOR = "practitioner", "coordinator"

F2F, LETTER, CONFERENCE, UNSENT_LETTER = "face_to_face", "letter", "conference", "unsent_letter"
# Forms that put people in one room: a survivor specialist on the team, and a harmful sexual
# behaviour specialist when the responsible person is there (mend_sessions.forms).
DIRECT_FORMS = frozenset({F2F, CONFERENCE, "family_circle", "healing_circle", "story_telling"})
# Forms that never involve the responsible person.
NEVER_WITH_RP = frozenset({UNSENT_LETTER, "story_telling"})

# Unmet gates that only mean "another service's fact has not reached the sessions service yet":
# asked again until they pass. Any other unmet gate is a real refusal.
REMOTE_GATES = (
    "'s consent does not cover",
    "acknowledgement does not stand",
    "no current risk assessment permits",
    "unresolved severe risk flag",
    "no safety plan agreed with the harmed person",  # risk's SafetyPlanAgreed, over the broker
)


class StepFailed(AssertionError):
    """A step's request was refused: the step, the request, the status and the reason."""

    def __init__(self, step: str, response: httpx.Response) -> None:
        body = json_of(response)
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


def json_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def case_on_its_way(response: httpx.Response) -> bool:
    """A service that has not taken in the case's opening from the broker yet (404 naming
    `case_id`): asked again until it has."""
    return response.status_code == 404 and json_of(response).get("field") == "case_id"


def waiting_for_other_services(response: httpx.Response) -> bool:
    body = json_of(response)
    gates = body.get("gates") if body.get("error") == "gates_unmet" else None
    return bool(gates) and all(any(p in g for p in REMOTE_GATES) for g in gates or ())


def either(
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
