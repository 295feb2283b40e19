"""The gateway's pure decisions: the allowlist file, grant coverage at the event's moment, and
minimisation, field by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from mend_disclosure.domain import (
    Allowlist,
    AllowlistError,
    GrantEnd,
    ShareGrant,
    disclosures,
    minimise,
)
from mend_events.contracts.catalog.consent import ShareTerms

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
CASE, HP, RP = "case-0001aa", "hp-aaaa0001", "rp-aaaa0001"
ALLOW = Allowlist.load()


def terms(categories=("case_progress",), types=("CaseOpened",), days=30) -> ShareTerms:
    return ShareTerms(
        purpose="safeguarding",
        legal_basis="explicit_consent",
        categories=categories,
        event_types=types,
        valid_from=T0,
        valid_until=T0 + timedelta(days=days),
    )


def grant(agency="police-north", person=HP, **kw) -> ShareGrant:
    base = dict(grant_id=uuid4(), grant_version=1, case_id=CASE, participant_id=person,
                agency=agency, terms=terms(), given_at=T0)  # fmt: skip
    return ShareGrant(**{**base, **kw})


OPENED = {"harm_category": "sexual_assault", "justice_stage": "post_sentence",
          "agency": "north-rj", "harmed_person_id": HP, "route": "self_referral"}  # fmt: skip


def decide(event_type="CaseOpened", data=OPENED, at=T0 + timedelta(hours=1), grants=()):
    return disclosures(ALLOW, event_type=event_type, case_id=CASE, occurred_at=at, data=data,
                       harmed_person=HP, grants=list(grants))  # fmt: skip


def test_a_covering_grant_lets_only_the_allowlisted_fields_through() -> None:
    [d] = decide(grants=[grant()])
    assert d.agency == "police-north" and d.subject == HP
    assert d.field_paths == ("harm_category", "justice_stage", "route")
    assert d.data == {k: OPENED[k] for k in d.field_paths}  # never `agency`, never the HP id


def test_no_grant_type_category_or_validity_no_disclosure() -> None:
    assert decide() == []
    assert decide(grants=[grant(terms=terms(types=("CaseClosed",)))]) == []
    assert decide(grants=[grant(terms=terms(categories=("aftercare",)))]) == []
    assert decide(at=T0 - timedelta(seconds=1), grants=[grant()]) == []  # before valid_from
    assert decide(at=T0 + timedelta(days=30), grants=[grant()]) == []  # valid_until exclusive
    assert decide(grants=[grant(person=RP)]) == []  # another person's grant
    assert decide(grants=[grant(case_id="case-0002bb")]) == []
    assert decide(grants=[grant(terms=None)]) == []  # a v1 share grant: no terms, nothing


@pytest.mark.parametrize("end", [e for e in GrantEnd if e is not GrantEnd.ERASED])
def test_an_ended_grant_covers_what_happened_before_its_end_and_nothing_after(end) -> None:
    ended = grant(ended_at=T0 + timedelta(hours=2), ended_by=end)
    assert decide(at=T0 + timedelta(hours=1), grants=[ended])
    assert decide(at=T0 + timedelta(hours=2), grants=[ended]) == []
    assert decide(at=T0 + timedelta(hours=3), grants=[ended]) == []


def test_two_agencies_get_each_their_own_categories() -> None:
    halted = {"session_id": "sess-0001", "halted_by_id": "prac-0001aa",
              "halted_by_role": "practitioner", "cause": "risk_flag",
              "cause_event_id": str(uuid4())}  # fmt: skip
    police = grant(terms=terms(("safety_concerns",), ("SessionHalted",)))
    care = grant("victim-care", terms=terms(("session_outcomes",), ("SessionHalted",)))
    a, b = decide("SessionHalted", halted, grants=[care, police])
    assert (a.agency, a.data) == ("police-north", {"cause": "risk_flag"})
    assert (b.agency, b.data) == (
        "victim-care",
        {"session_id": "sess-0001", "halted_by_role": "practitioner"},
    )
    assert "halted_by_id" not in a.data | b.data  # practitioners' ids never leave


def test_a_person_level_event_needs_that_persons_grant_and_carries_its_subject() -> None:
    check_in = {"check_in_id": str(uuid4()), "participant_id": RP,
                "participant_role": "responsible_person", "due_at": T0.isoformat()}  # fmt: skip
    hers = grant(terms=terms(("aftercare",), ("CheckInScheduled",)))
    assert decide("CheckInScheduled", check_in, grants=[hers]) == []
    his = grant("probation-north", person=RP, terms=terms(("aftercare",), ("CheckInScheduled",)))
    [d] = decide("CheckInScheduled", check_in, grants=[his])
    assert d.field_paths[0] == "participant_id" and d.data["participant_id"] == RP


def test_events_not_in_the_allowlist_are_never_disclosed() -> None:
    everything = terms(("case_progress",), ("ConsentGiven", "AgencyKeyAdded", "FacilitatorChosen"))
    assert decide("FacilitatorChosen", {"practitioner_id": "prac-1"},
                  grants=[grant(terms=everything)]) == []  # fmt: skip


def test_the_allowlist_refuses_what_the_platform_does_not_have() -> None:
    for text in (
        '[NoSuchEvent]\nsubject = "harmed_person"\n[NoSuchEvent.fields]\ncase_progress = []',
        '[CaseOpened]\nsubject = "harmed_person"\n[CaseOpened.fields]\ngossip = []',
        '[CaseOpened]\nsubject = "harmed_person"\n[CaseOpened.fields]\ncase_progress = ["x"]',
        '[CaseOpened]\nsubject = "nobody"\n[CaseOpened.fields]\ncase_progress = []',
        '[CaseOpened]\nsubject = "harmed_person"',
    ):
        with pytest.raises(AllowlistError):
            Allowlist.load(text)


def test_minimise_copies_only_the_paths() -> None:
    data = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1]}
    assert minimise(data, ("a", "b.c", "missing")) == {"a": 1, "b": {"c": 2}}


def test_after_an_erasure_nothing_of_the_person_leaves_even_what_happened_before() -> None:
    erased = grant(ended_at=T0 + timedelta(hours=2), ended_by=GrantEnd.ERASED)
    assert decide(at=T0 + timedelta(hours=1), grants=[erased]) == []
