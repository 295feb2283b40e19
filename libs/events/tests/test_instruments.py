"""Outcome instruments as versioned data (issue 21): the shipped definitions load and hold
together, and an answer set is checked item by item, in words that never repeat a value."""

from __future__ import annotations

import pytest
from mend_events import instruments
from mend_events.instruments import Item, Respondent, UnknownInstrument, load, parse_ref, problems
from pydantic import ValidationError


def test_three_instruments_for_the_three_kinds_of_respondent() -> None:
    shipped = {i.ref: i.respondent for i in instruments.available()}
    assert shipped == {
        "survivor-outcomes@1": Respondent.HARMED_PERSON,
        "accountability-journey@1": Respondent.RESPONSIBLE_PERSON,
        "reoffending-followup@1": Respondent.AGENCY_ABOUT_RESPONSIBLE_PERSON,
    }
    assert parse_ref("survivor-outcomes@1") is load("survivor-outcomes", 1)
    with pytest.raises(UnknownInstrument):
        parse_ref("survivor-outcomes@9")
    with pytest.raises(UnknownInstrument):
        parse_ref("survivor-outcomes")


def test_a_whole_valid_answer_set_has_no_problems() -> None:
    survivor = load("survivor-outcomes", 1)
    answers = {"safety": 7, "fear": 3, "wellbeing": 6, "satisfaction": 9}
    assert problems(survivor, "m6", answers) == []
    followup = load("reoffending-followup", 1)
    assert (
        problems(
            followup, "m12", {"known_reoffence": "none_known", "source": "probation_or_prison"}
        )
        == []
    )


def test_problems_name_items_and_kinds_never_values() -> None:
    survivor = load("survivor-outcomes", 1)
    found = problems(survivor, "m24", {"safety": 11, "fear": True, "wellbeing": "7", "mood": 4})
    assert found == [
        "point: survivor-outcomes@1 is asked at baseline, m1, m6, m12",
        "answers.mood: not an item of survivor-outcomes@1",
        "answers.safety: a whole number from 1 to 10",
        "answers.fear: a whole number from 1 to 10",
        "answers.wellbeing: a whole number from 1 to 10",
        "answers.satisfaction: unanswered",
    ]
    assert not any("11" in p for p in found)
    followup = load("reoffending-followup", 1)
    assert problems(followup, "m6", {"known_reoffence": "burglary", "source": "police_record"}) == [
        "answers.known_reoffence: one of none_known, non_sexual, sexual"
    ]


def test_an_item_is_a_scale_or_a_choice_never_both() -> None:
    with pytest.raises(ValidationError):
        Item(code="x_item", question="?", low=1, high=5, choices=("a",))
    with pytest.raises(ValidationError):
        Item(code="x_item", question="?")
    with pytest.raises(ValidationError):
        Item(code="x_item", question="?", low=5, high=5)
