"""Who may do what: a small deny-by-default policy, kept as a readable table of rules.

A rule says: these roles may take this action (exact `case.read`, a family `case.*`, or `*`)
when its condition holds for the caller and the resource. Nothing is allowed unless some rule
allows it. Conditions are small named functions of (identity, action, resource); the resource is
a plain dict (`agency`, `case_id`, `person_id`, `members`, `shared_with`, ...); a missing key
never allows.

Actions are named `<resource>.<verb>`; verbs in `READ_VERBS` only read.

Each service keeps its decision behind one small function over `Policy([*BASELINE_RULES, ...])`,
tested as a matrix of roles x actions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mend_events.contracts.actors import PARTICIPANT_ROLES, Role
from mend_events.errors import Forbidden
from mend_events.security.identity import Identity

__all__ = [
    "BASELINE_RULES",
    "ERASURE_RULES",
    "READ_VERBS",
    "Condition",
    "Decision",
    "Policy",
    "Rule",
    "all_of",
    "allocated_case",
    "always",
    "authorize",
    "condition",
    "is_read",
    "member_of_case",
    "own_record",
    "read_only",
    "same_agency",
    "shared_with_agency",
    "volunteer_part",
]

Resource = Mapping[str, Any]
Condition = Callable[[Identity, str, Resource], bool]

READ_VERBS = frozenset({"read", "list", "history"})


def is_read(action: str) -> bool:
    return action.rpartition(".")[2] in READ_VERBS


def condition(describe: str) -> Callable[[Condition], Condition]:
    """Name a condition in words, for decisions' reasons (and auditors)."""

    def wrap(fn: Condition) -> Condition:
        fn.describe = describe  # type: ignore[attr-defined]
        return fn

    return wrap


def describe(cond: Condition) -> str:
    return getattr(cond, "describe", getattr(cond, "__name__", "a condition"))


# ---- conditions ----------------------------------------------------------------------------


@condition("always")
def always(identity: Identity, action: str, resource: Resource) -> bool:
    return True


@condition("the resource belongs to the caller's agency")
def same_agency(identity: Identity, action: str, resource: Resource) -> bool:
    return resource.get("agency") == identity.agency


@condition("the record is the caller's own")
def own_record(identity: Identity, action: str, resource: Resource) -> bool:
    return resource.get("person_id") == identity.person_id


@condition("the case is allocated to the caller")
def allocated_case(identity: Identity, action: str, resource: Resource) -> bool:
    # `identity.cases`: the caller's allocations in the hub's trust model as of this request
    # (security/trust, `TrustSnapshot.admit`), never a claim of the token.
    case_id = resource.get("case_id")
    return isinstance(case_id, str) and case_id in identity.cases


def volunteer_part(*parts: str) -> Condition:
    """A condition: the caller is a volunteer allocated to the case now for one of `parts`
    (issue 21; `identity.parts` from the hub's trust model, while the vetting and training the
    allocation stood on are current). A service grants a volunteer only what their part needs."""
    wanted = frozenset(str(p) for p in parts)

    def holds(identity: Identity, action: str, resource: Resource) -> bool:
        case_id = resource.get("case_id")
        return (
            identity.role == Role.VOLUNTEER
            and isinstance(case_id, str)
            and case_id in identity.cases
            and identity.part_in(case_id) in wanted
        )

    holds.__name__ = "volunteer_part"
    holds.describe = (  # type: ignore[attr-defined]
        f"the caller is a volunteer allocated to the case as {' or '.join(sorted(wanted))}"
    )
    return holds


@condition("the caller takes part in the case, in the role their token claims")
def member_of_case(identity: Identity, action: str, resource: Resource) -> bool:
    # `members`: person id -> role, from the case's own events (mend_events.security.cases).
    members = resource.get("members")
    return isinstance(members, Mapping) and members.get(identity.person_id) == identity.role


@condition("the action only reads")
def read_only(identity: Identity, action: str, resource: Resource) -> bool:
    return is_read(action)


@condition("consent shares it with the caller's agency")
def shared_with_agency(identity: Identity, action: str, resource: Resource) -> bool:
    shared = resource.get("shared_with")
    return isinstance(shared, list | tuple | set | frozenset) and identity.agency in shared


def all_of(*conditions: Condition) -> Condition:
    """A condition holding when every one of `conditions` holds."""

    def combined(identity: Identity, action: str, resource: Resource) -> bool:
        return all(c(identity, action, resource) for c in conditions)

    combined.__name__ = "_and_".join(getattr(c, "__name__", "cond") for c in conditions)
    combined.describe = " and ".join(describe(c) for c in conditions)  # type: ignore[attr-defined]
    return combined


# ---- rules and decisions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rule:
    action: str
    roles: frozenset[Role]
    condition: Condition = always

    def __init__(self, action: str, roles: Iterable[Role], condition: Condition = always) -> None:
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "roles", frozenset(roles))
        object.__setattr__(self, "condition", condition)

    def covers(self, action: str) -> bool:
        if self.action == "*" or self.action == action:
            return True
        if self.action.endswith(".*"):
            return action.startswith(self.action[:-1])
        return False

    def __str__(self) -> str:
        roles = ", ".join(sorted(self.roles))
        return f"{roles} may {self.action} when {describe(self.condition)}"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Policy:
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def __init__(self, rules: Iterable[Rule]) -> None:
        object.__setattr__(self, "rules", tuple(rules))

    def decide(self, identity: Identity, action: str, resource: Resource) -> Decision:
        unmet: list[str] = []
        for rule in self.rules:
            if identity.role not in rule.roles or not rule.covers(action):
                continue
            try:
                holds = bool(rule.condition(identity, action, resource))
            except (KeyError, TypeError, ValueError, AttributeError):
                holds = False  # a malformed resource never allows
            if holds:
                return Decision(True, f"allowed: {rule}")
            unmet.append(describe(rule.condition))
        if unmet:
            return Decision(
                False, f"role {identity.role} may {action} only when " + " or when ".join(unmet)
            )
        return Decision(False, f"no rule allows role {identity.role} to {action}")

    def authorize(self, identity: Identity, action: str, resource: Resource) -> Decision:
        decision = self.decide(identity, action, resource)
        if not decision.allowed:
            raise Forbidden(decision.reason)
        return decision


def authorize(policy: Policy, identity: Identity, action: str, resource: Resource) -> Decision:
    """The decision when allowed; raises errors.Forbidden with the reason otherwise."""
    return policy.authorize(identity, action, resource)


# ---- erasure of a person's personal data (mend_events.security.erasure)
# ------------------------------
# The person asks for their own data; a coordinator of the agency for anyone's in it. Nobody of
# another agency; no operator, auditor or practitioner (an erasure is not casework).
ERASURE_RULES: tuple[Rule, ...] = (
    Rule("person.erase", PARTICIPANT_ROLES, all_of(same_agency, own_record)),
    Rule("person.erase", {Role.COORDINATOR}, same_agency),
)

# ---- the platform's baseline ---------------------------------------------------------------
# Services add their own rules (Policy([*BASELINE_RULES, *service_rules])). Read as a table:
#   action          roles                       condition
BASELINE_RULES: tuple[Rule, ...] = (
    # A participant acts only on their own record (their consents, preferences, statements),
    # and only in a case they take part in, in the role their token claims.
    Rule("record.*", PARTICIPANT_ROLES, all_of(same_agency, member_of_case, own_record)),
    # A facilitator works only on the cases allocated to them.
    Rule("case.*", {Role.PRACTITIONER}, all_of(same_agency, allocated_case)),
    Rule("record.*", {Role.PRACTITIONER}, all_of(same_agency, allocated_case)),
    # A coordinator allocates cases and lists them within the agency (no case content).
    Rule("case.assign", {Role.COORDINATOR}, same_agency),
    Rule("case.list", {Role.COORDINATOR}, same_agency),
    # An auditor reads everything in the agency and changes nothing.
    Rule("*", {Role.AUDITOR}, all_of(same_agency, read_only)),
    # A partner agency reads what consent shares with it, and nothing else.
    Rule("shared.read", {Role.PRACTITIONER, Role.COORDINATOR}, shared_with_agency),
    # An operator runs the services: no case content.
    Rule("ops.*", {Role.OPERATOR}),
    *ERASURE_RULES,
)
