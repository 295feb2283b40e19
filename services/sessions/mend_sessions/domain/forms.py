"""Forms of contact (the platform's one `ContactForm`, re-exported here), and what each form
implies for who takes part (the platform's answer, `mend_events.contracts.vocabulary`, which risk
shares)
and which team it needs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mend_events.contracts.catalog.consent import ScopeKind, parse_scope
from mend_events.contracts.catalog.sessions import HaltCause
from mend_events.contracts.vocabulary import (
    ALWAYS_WITH_RESPONSIBLE_PERSON,
    NEVER_WITH_RESPONSIBLE_PERSON,
    ContactForm,
)

__all__ = [
    "ALL_FORMS",
    "DIRECT_CONTACT",
    "NEEDS_RESPONSIBLE_PERSON",
    "WITHOUT_RESPONSIBLE_PERSON",
    "ConsentLoss",
    "ContactForm",
    "forms_of_scope",
    "touched_forms",
]

# Contact with the responsible person is the point of these forms: without them there is none.
NEEDS_RESPONSIBLE_PERSON = ALWAYS_WITH_RESPONSIBLE_PERSON
# These forms exist for when contact with the responsible person is impossible or too risky,
# so they never include them.
WITHOUT_RESPONSIBLE_PERSON = NEVER_WITH_RESPONSIBLE_PERSON

# Forms where people meet in one room (or call): these need the full team, a facilitator plus a
# survivor specialist, and a harmful-sexual-behaviour specialist when the responsible person is in
# the room. Letters and shuttle messages pass through the facilitator alone.
DIRECT_CONTACT = frozenset(
    {
        ContactForm.FACE_TO_FACE,
        ContactForm.CONFERENCE,
        ContactForm.FAMILY_CIRCLE,
        ContactForm.HEALING_CIRCLE,
        ContactForm.STORY_TELLING,
    }
)

# --- what a consent scope is about ----------------------------------------------------------

ALL_FORMS = frozenset(ContactForm)
FORM_VALUES = frozenset(f.value for f in ContactForm)


def forms_of_scope(scope: str) -> frozenset[ContactForm] | None:
    """The contact forms a consent scope is about: None for taking part (every form)."""
    try:
        parts = parse_scope(scope)
    except ValueError:
        return frozenset()
    if parts.kind == ScopeKind.TAKE_PART:
        return None
    if parts.kind == ScopeKind.CONTACT and parts.form is not None:
        return frozenset({ContactForm(parts.form)})
    return frozenset()  # sharing, progress updates, research: no contact depends on them


@dataclass(frozen=True, slots=True)
class ConsentLoss:
    """What a consent event took away: from whom, which forms it touched (None: every form, e.g.
    taking part withdrawn, or the acknowledgement), and what kind of halt it would cause."""

    participant_id: str
    forms: frozenset[ContactForm] | None
    cause: HaltCause


def touched_forms(scopes: Iterable[str]) -> frozenset[ContactForm] | None:
    touched: set[ContactForm] = set()
    for scope in scopes:
        forms = forms_of_scope(scope)
        if forms is None:
            return None
        touched |= forms
    return frozenset(touched)
