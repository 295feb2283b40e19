"""Forms of contact (the platform's one `ContactForm`, re-exported here), and what each form
implies for who takes part and which team it needs."""

from __future__ import annotations

from mend_events.vocabulary import ContactForm

__all__ = [
    "DIRECT_CONTACT",
    "NEEDS_RESPONSIBLE_PERSON",
    "WITHOUT_RESPONSIBLE_PERSON",
    "ContactForm",
]

# Contact with the responsible person is the point of these forms: without them there is none.
NEEDS_RESPONSIBLE_PERSON = frozenset(
    {ContactForm.FACE_TO_FACE, ContactForm.LETTER, ContactForm.INDIRECT}
)

# These forms exist for when contact with the responsible person is impossible or too risky,
# so they never include them. Family circle is deliberately not here: DOMAIN.md and the seed say
# the responsible person "may be absent" / "may not be involved", i.e. optional, like a conference.
WITHOUT_RESPONSIBLE_PERSON = frozenset({ContactForm.STORY_TELLING, ContactForm.UNSENT_LETTER})

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
