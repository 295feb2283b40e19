"""Rule packs: the parameters that differ by jurisdiction or by an agency's practice framework,
as versioned data (`packs/<id>-v<version>.toml`), never constants in code.

An agency adopts a pack version (the hub's `RulePackAdopted`); every decision made under a
pack records its reference (`england-wales@2`), so an auditor replaying a case sees which rules
applied then. A pack version never changes once published: a revision is a new version.

    pack = load("england-wales", 2)       # or parse_ref("england-wales@2")
    pack.risk.max_validity_days
    available()                           # every (id, version) shipped
    in_force(adoptions, at)               # the pack an agency's adoptions put in force at `at`
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mend_events.contracts.catalog.risk import LEGAL_RESTRICTIONS, FactorKind
from mend_events.contracts.catalog.sessions import Specialism
from mend_events.contracts.vocabulary import MEETINGS, NEVER_WITH_RESPONSIBLE_PERSON, ContactForm

PACK_ID = r"^[a-z][a-z0-9-]{1,40}$"
DEFAULT_REF = "england-wales@1"  # in force for an agency that has adopted none


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RiskRules(_Part):
    default_validity_days: int = Field(ge=1, le=366)
    max_validity_days: int = Field(ge=1, le=366)

    @model_validator(mode="after")
    def _default_within_max(self) -> RiskRules:
        if self.default_validity_days > self.max_validity_days:
            raise ValueError("default_validity_days exceeds max_validity_days")
        return self


def _distinct(values: tuple) -> tuple:
    if len(set(values)) != len(values):
        raise ValueError("each entry is named once")
    return values


class DecisionRules(_Part):
    """What a risk decision may permit. `indirect_only_with_responsible_person`: the forms with
    the responsible person taking part that a decision of indirect contact only may permit
    (never a meeting in one room, whatever the pack). `legal_restrictions`: the legal
    restrictions whose check must be recorded, and which must carve restorative contact out,
    before any form with the responsible person is permitted."""

    indirect_only_with_responsible_person: tuple[ContactForm, ...]
    legal_restrictions: tuple[FactorKind, ...] = Field(min_length=1)

    @field_validator("indirect_only_with_responsible_person")
    @classmethod
    def _indirect(cls, forms: tuple[ContactForm, ...]) -> tuple[ContactForm, ...]:
        for form in _distinct(forms):
            if form in MEETINGS or form in NEVER_WITH_RESPONSIBLE_PERSON:
                raise ValueError(f"{form} is not indirect contact with the responsible person")
        return forms

    @field_validator("legal_restrictions")
    @classmethod
    def _restrictions(cls, kinds: tuple[FactorKind, ...]) -> tuple[FactorKind, ...]:
        for kind in _distinct(kinds):
            if kind not in LEGAL_RESTRICTIONS:  # only these can record a carve-out
                raise ValueError(f"{kind} is not a legal restriction with a carve-out")
        return kinds


class FactorRules(_Part):
    """The factor kinds a full assessment must record (present, absent or unknown) before it is
    completed, and each kind's weight (0-10) in the indicator shown beside the decision: the
    weights of the kinds recorded present, against their sum over every kind. The indicator is
    an aid to the practitioner's judgement, never a decision: it permits and refuses nothing."""

    required: tuple[FactorKind, ...]
    weights: dict[FactorKind, int]

    @field_validator("required")
    @classmethod
    def _required(cls, kinds: tuple[FactorKind, ...]) -> tuple[FactorKind, ...]:
        return _distinct(kinds)

    @field_validator("weights")
    @classmethod
    def _weights(cls, weights: dict[FactorKind, int]) -> dict[FactorKind, int]:
        unweighted = sorted(set(FactorKind) - set(weights))
        if unweighted:
            raise ValueError(f"every factor kind has a weight; missing: {', '.join(unweighted)}")
        if any(not 0 <= w <= 10 for w in weights.values()):
            raise ValueError("a weight is a whole number from 0 to 10")
        return weights


class ConsentRules(_Part):
    default_expiry_days: int = Field(ge=1, le=3660)


class SessionRules(_Part):
    min_gap_days_floor: int = Field(ge=0, le=365)


class TeamRules(_Part):
    """The specialists a session's team must include beyond the facilitator, each filled by a
    different person: for direct contact (in one room or live), and in addition when the
    responsible person takes part; and for indirect contact with the responsible person
    (letters, shuttle messages)."""

    direct_contact: tuple[Specialism, ...]
    direct_with_responsible_person: tuple[Specialism, ...]
    indirect_with_responsible_person: tuple[Specialism, ...]

    @field_validator("direct_contact", "direct_with_responsible_person")
    @classmethod
    def _each_once(cls, needed: tuple[Specialism, ...]) -> tuple[Specialism, ...]:
        return _distinct(needed)

    @model_validator(mode="after")
    def _no_role_twice(self) -> TeamRules:
        _distinct(self.direct_contact + self.direct_with_responsible_person)
        _distinct(self.indirect_with_responsible_person)
        return self


class ReportRules(_Part):
    min_cell: int = Field(ge=2, le=100)


class RulePack(_Part):
    id: str = Field(pattern=PACK_ID)
    version: int = Field(ge=1)
    title: str
    jurisdiction: str
    summary: str
    risk: RiskRules
    decisions: DecisionRules
    factors: FactorRules
    consent: ConsentRules
    sessions: SessionRules
    team: TeamRules
    reports: ReportRules

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"


class UnknownPack(ValueError):
    """No such pack version is shipped."""


def _files() -> Iterable[resources.abc.Traversable]:
    return (f for f in resources.files(__package__).joinpath("packs").iterdir()
            if f.name.endswith(".toml"))  # fmt: skip


@cache
def _all() -> dict[tuple[str, int], RulePack]:
    packs = {}
    for f in _files():
        pack = RulePack.model_validate(tomllib.loads(f.read_text("utf-8")))
        if f.name != f"{pack.id}-v{pack.version}.toml":
            raise ValueError(f"{f.name} holds {pack.ref}: name it {pack.id}-v{pack.version}.toml")
        packs[(pack.id, pack.version)] = pack
    return packs


def available() -> list[tuple[str, int]]:
    return sorted(_all())


def load(pack_id: str, version: int) -> RulePack:
    try:
        return _all()[(pack_id, version)]
    except KeyError:
        raise UnknownPack(f"no rule pack {pack_id}@{version}") from None


def parse_ref(ref: str) -> RulePack:
    pack_id, _, version = ref.partition("@")
    if not version.isdigit():
        raise UnknownPack("a rule pack is named id@version, e.g. england-wales@2")
    return load(pack_id, int(version))


def in_force(adoptions: Iterable[tuple[datetime, str]], at: datetime) -> RulePack:
    """The pack in force at `at` given an agency's adoptions ((effective from, ref) pairs):
    the latest adopted by then, else the default."""
    chosen = DEFAULT_REF
    for since, ref in sorted(adoptions):
        if since <= at:
            chosen = ref
    return parse_ref(chosen)
