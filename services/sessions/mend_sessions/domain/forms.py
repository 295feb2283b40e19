"""Forms of contact (the platform's one `ContactForm`, re-exported here), and what each form
implies for who takes part (the platform's answer, `mend_events.vocabulary`, which risk shares)
and which team it needs."""

from __future__ import annotations

from mend_events.vocabulary import (
    ALWAYS_WITH_RESPONSIBLE_PERSON,
    NEVER_WITH_RESPONSIBLE_PERSON,
    ContactForm,
)

__all__ = [
    "DIRECT_CONTACT",
    "NEEDS_RESPONSIBLE_PERSON",
    "WITHOUT_RESPONSIBLE_PERSON",
    "ContactForm",
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
