"""Every event of a case's history has words of its own in the audit timeline (the generic
fallback lists raw field names: an auditor reading a letter's stop or a note's read should not
have to decode them). Built from codes and ids only: a sealed field never appears."""

from __future__ import annotations

import importlib

import pytest
from mend_audit.summaries import summarise
from mend_audit.summary_words import SUMMARIES
from mend_events.contracts.events import DomainEvent

CASE_SERVICES = ("consent", "risk", "sessions", "aftercare")  # the streams a history replays


def _event_types(service: str) -> list[str]:
    catalog = importlib.import_module(f"mend_events.contracts.catalog.{service}")
    return sorted(
        cls.event_type
        for cls in vars(catalog).values()
        if isinstance(cls, type) and issubclass(cls, DomainEvent) and cls is not DomainEvent
        and isinstance(getattr(cls, "event_type", None), str)
    )  # fmt: skip


@pytest.mark.parametrize("service", CASE_SERVICES)
def test_every_case_event_has_its_own_words(service: str) -> None:
    missing = [t for t in _event_types(service) if t not in SUMMARIES]
    assert not missing, f"no summary words for {missing} (mend_audit/summary_words.py)"


def test_a_letter_stopped_and_a_note_read_in_words() -> None:
    stopped = summarise(
        "LetterDeliveryStopped",
        {"letter_id": "3f9a2c1d-0000-4000-8000-000000000001", "session_id": "s-1",
         "cause": "consent_withdrawn", "cause_event_id": "9e8d7c6b-0000-4000-8000-00000000000f"},
    )  # fmt: skip
    assert stopped == (
        "delivery of letter 3f9a2c1d stopped: consent_withdrawn, cause event 9e8d7c6b"
    )
    written = summarise(
        "CaseNoteWritten",
        {"note_id": "5a5a5a5a-0000-4000-8000-000000000002", "kind": "supervision",
         "about_id": "hp-alice01", "text": {"sealed": "…"}},
    )  # fmt: skip
    assert written == "supervision note 5a5a5a5a written about hp-alice01"


def test_a_conference_in_words_never_its_minutes() -> None:
    held = summarise(
        "ConferenceHeld",
        {"conference_id": "conf-0001ab", "occurrence": 2, "held_at": "2026-03-01T10:00:00Z",
         "harmed_person_id": "hp-alice01", "attendee_ids": ["hp-alice01", "vol-0001ab"],
         "needs": ["housing"], "minutes": {"kid": "k", "iv": "i", "ct": "sealed"}},
    )  # fmt: skip
    assert held == (
        "conference conf-0001ab met (meeting 2) at 2026-03-01T10:00:00Z with hp-alice01, "
        "vol-0001ab; needs: housing"
    )
    cancelled = summarise(
        "ConferenceCancelled",
        {"conference_id": "conf-0001ab", "cause": "consent_withdrawn",
         "cause_event_id": "9e8d7c6b-0000-4000-8000-00000000000f"},
    )  # fmt: skip
    assert cancelled == "conference conf-0001ab cancelled: consent_withdrawn, cause event 9e8d7c6b"
