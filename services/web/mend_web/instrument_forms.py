"""Outcome instruments as forms (issue 21): which instrument a person answers, its questions as
the page shows them, and a posted form read back into an answer set. The instrument's own
wording (title, summary, questions, the words at each end of a scale) is data, shown as the
instrument version has it; only the interface's words go through gettext. The aftercare service
decides every answer (research consent, who may record it, never overwritten)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mend_events import instruments
from mend_events.instruments import Instrument, Respondent

from mend_web.i18n import gettext

RESEARCH_SCOPE = "outcome_research"
# Which instrument is about whom: the person's role in their case -> who answers.
RESPONDENT_OF = {
    "harmed_person": Respondent.HARMED_PERSON,
    "responsible_person": Respondent.RESPONSIBLE_PERSON,
}
FIELD_PREFIX = "item-"
_MONTHS = re.compile(r"^m([0-9]{1,3})$")


def _(text: str) -> str:  # marker only: translated where shown (`point_label`)
    return text


_AT_START = _("At the start")
_AFTER_ONE = _("After one month")
_AFTER_N = _("After %(n)s months")


def current(respondent: Respondent) -> Instrument | None:
    """The newest shipped version of the instrument `respondent` answers (None: none)."""
    found = [i for i in instruments.available() if i.respondent is respondent]
    return max(found, key=lambda i: (i.id, i.version)) if found else None


def for_role(role: str) -> Instrument | None:
    respondent = RESPONDENT_OF.get(role)
    return current(respondent) if respondent else None


def point_label(point: str) -> str:
    """A point of an instrument in plain words ("baseline" -> "At the start")."""
    if point == "baseline":
        return gettext(_AT_START)
    months = _MONTHS.match(point)
    if months:
        n = int(months.group(1))
        return gettext(_AFTER_ONE) if n == 1 else gettext(_AFTER_N) % {"n": n}
    return point.replace("_", " ")


@dataclass(frozen=True)
class Question:
    code: str
    text: str
    options: list[tuple[str, str]]  # (value, words shown)
    low_means: str | None
    high_means: str | None


def questions(instrument: Instrument) -> list[Question]:
    """Each item as radio options: a scale's every step, or each closed choice (its code in
    words: the instrument gives choices no wording of their own)."""
    out = []
    for item in instrument.items:
        if item.choices:
            options = [(c, c.replace("_", " ")) for c in item.choices]
        else:
            steps = range(item.low or 0, (item.high or 0) + 1)
            options = [(str(n), str(n)) for n in steps]
        out.append(Question(item.code, item.question, options, item.low_means, item.high_means))
    return out


def view(instrument: Instrument) -> dict[str, Any]:
    return {
        "ref": instrument.ref,
        "title": instrument.title,
        "summary": instrument.summary,
        "points": [(p, point_label(p)) for p in instrument.points],
        "questions": questions(instrument),
    }


def answers_from(instrument: Instrument, form: Mapping[str, Any]) -> dict[str, int | str]:
    """The answer set a posted form holds (fields `item-<code>`): numbers for a scale's items,
    codes for a choice's; an item left unanswered or not one of its options is left out (the
    caller names what is missing, `unanswered`)."""
    out: dict[str, int | str] = {}
    for q, item in zip(questions(instrument), instrument.items, strict=True):
        raw = form.get(f"{FIELD_PREFIX}{q.code}")
        if not isinstance(raw, str) or raw not in {v for v, _ in q.options}:
            continue
        out[q.code] = raw if item.choices else int(raw)
    return out


def unanswered(instrument: Instrument, answers: Mapping[str, int | str]) -> list[str]:
    """The questions (the instrument's own words) an answer set leaves out."""
    return [i.question for i in instrument.items if i.code not in answers]


def has_research_consent(grants: list[Mapping[str, Any]], person_id: str) -> bool:
    """Whether `person_id` has a research consent in force among the case's `grants` (the
    consent service's current grants: withdrawn and lapsed ones are gone from it)."""
    return any(
        g.get("scope") == RESEARCH_SCOPE and g.get("participant_id", person_id) == person_id
        for g in grants
    )
