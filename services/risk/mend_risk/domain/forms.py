"""Which contact forms bring the responsible person in, as far as risk is concerned.

The forms themselves, and which of them always or never involve the responsible person, are the
platform's (`mend_events.contracts.vocabulary`, shared with sessions); only the risk-specific
groupings and
questions live here.
"""

from __future__ import annotations

from mend_events.contracts.vocabulary import (
    ALWAYS_WITH_RESPONSIBLE_PERSON,
    MEETINGS,
    NEVER_WITH_RESPONSIBLE_PERSON,
    ContactForm,
)

__all__ = [
    "ALWAYS_WITH_RESPONSIBLE_PERSON",
    "MEETINGS",
    "NEVER_WITH_RESPONSIBLE_PERSON",
    "possible_involvement",
    "usual_involvement",
]


def usual_involvement(form: ContactForm) -> bool:
    """Whether the responsible person takes part when a caller does not say. For forms that go
    either way the answer is yes: that is the riskier question, so it never over-permits."""
    return form not in NEVER_WITH_RESPONSIBLE_PERSON


def possible_involvement(form: ContactForm, with_responsible_person: bool) -> bool:
    """Whether `form` can take place with (or without) the responsible person at all."""
    if with_responsible_person:
        return form not in NEVER_WITH_RESPONSIBLE_PERSON
    return form not in ALWAYS_WITH_RESPONSIBLE_PERSON
