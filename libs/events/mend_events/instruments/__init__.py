"""Outcome instruments (issue 21): the questions an agency asks, at set points, of the people a
case involves, as versioned data (`defs/<id>-v<version>.toml`), never constants in code. Each
answer is recorded only under that person's research consent (`outcome_research`), which is
separate from every RJ consent, and names the instrument version it answers, so a study reads
each figure by the questions actually asked then. A version never changes once published.

    instrument = load("survivor-outcomes", 1)      # or parse_ref("survivor-outcomes@1")
    problems(instrument, "m6", {"safety": 7, ...})  # what is wrong with an answer set, or []
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, model_validator

INSTRUMENT_ID = r"^[a-z][a-z0-9-]{1,40}$"
ITEM_CODE = r"^[a-z][a-z0-9_]{1,40}$"
INSTRUMENT_REF = r"^[a-z][a-z0-9-]{1,40}@[1-9][0-9]{0,5}$"


class Respondent(StrEnum):
    """Who answers: the person themself, or the agency recording what its sources say about a
    responsible person (a follow-up of reoffending)."""

    HARMED_PERSON = "harmed_person"
    RESPONSIBLE_PERSON = "responsible_person"
    AGENCY_ABOUT_RESPONSIBLE_PERSON = "agency_about_responsible_person"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Item(_Part):
    """One question: a score on a scale (`low`..`high`, with the words at each end) or one of
    a closed set of `choices` (codes)."""

    code: str = Field(pattern=ITEM_CODE)
    question: str
    low: int | None = Field(None, ge=0, le=100)
    high: int | None = Field(None, ge=1, le=100)
    low_means: str | None = None
    high_means: str | None = None
    choices: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _scale_or_choices(self) -> Item:
        scale = self.low is not None and self.high is not None
        if scale == bool(self.choices):
            raise ValueError(f"item {self.code}: a scale (low, high) or choices, not both")
        if scale and self.low >= self.high:  # type: ignore[operator]
            raise ValueError(f"item {self.code}: low must be below high")
        if any(not c.isidentifier() or not c.islower() for c in self.choices):
            raise ValueError(f"item {self.code}: choices are lower-case codes")
        return self


class Instrument(_Part):
    id: str = Field(pattern=INSTRUMENT_ID)
    version: int = Field(ge=1)
    title: str
    summary: str
    respondent: Respondent
    points: tuple[str, ...] = Field(min_length=1)
    items: tuple[Item, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> Instrument:
        codes = [i.code for i in self.items]
        if len(set(codes)) != len(codes) or len(set(self.points)) != len(self.points):
            raise ValueError("items and points are each named once")
        return self

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"


class UnknownInstrument(ValueError):
    """No such instrument version is shipped."""


def _files() -> Iterable[resources.abc.Traversable]:
    return (f for f in resources.files(__package__).joinpath("defs").iterdir()
            if f.name.endswith(".toml"))  # fmt: skip


@cache
def _all() -> dict[tuple[str, int], Instrument]:
    found = {}
    for f in _files():
        instrument = Instrument.model_validate(tomllib.loads(f.read_text("utf-8")))
        expected = f"{instrument.id}-v{instrument.version}.toml"
        if f.name != expected:
            raise ValueError(f"{f.name} holds {instrument.ref}: name it {expected}")
        found[(instrument.id, instrument.version)] = instrument
    return found


def available() -> list[Instrument]:
    return [_all()[k] for k in sorted(_all())]


def load(instrument_id: str, version: int) -> Instrument:
    try:
        return _all()[(instrument_id, version)]
    except KeyError:
        raise UnknownInstrument(f"no instrument {instrument_id}@{version}") from None


def parse_ref(ref: str) -> Instrument:
    instrument_id, _, version = ref.partition("@")
    if not version.isdigit():
        raise UnknownInstrument("an instrument is named id@version, e.g. survivor-outcomes@1")
    return load(instrument_id, int(version))


def problems(instrument: Instrument, point: str, answers: Mapping[str, int | str]) -> list[str]:
    """What is wrong with `answers` at `point`, in words naming items and kinds of error, never
    an answer's value; [] when it is a whole, valid answer set (every item answered once)."""
    found = []
    if point not in instrument.points:
        found.append(f"point: {instrument.ref} is asked at {', '.join(instrument.points)}")
    items = {i.code: i for i in instrument.items}
    for code in sorted(set(answers) - set(items)):
        found.append(f"answers.{code}: not an item of {instrument.ref}")
    for code, item in items.items():
        if code not in answers:
            found.append(f"answers.{code}: unanswered")
            continue
        value = answers[code]
        if item.choices:
            if not isinstance(value, str) or value not in item.choices:
                found.append(f"answers.{code}: one of {', '.join(item.choices)}")
        elif (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not (
                item.low <= value <= item.high  # type: ignore[operator]
            )
        ):
            found.append(f"answers.{code}: a whole number from {item.low} to {item.high}")
    return found
