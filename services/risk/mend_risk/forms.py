"""Which contact forms bring the responsible person in, as far as risk is concerned.

The forms themselves are the platform's `mend_events.vocabulary.ContactForm` (one enum for
consent scopes, risk decisions and sessions); only the risk-specific groupings live here.
"""

from __future__ import annotations

from mend_events.vocabulary import ContactForm

# Contact with the responsible person by nature: there is no such form without them. A letter
# is a facilitated exchange with them; a letter that is never sent is `unsent_letter`.
ALWAYS_WITH_RESPONSIBLE_PERSON = frozenset(
    {ContactForm.FACE_TO_FACE, ContactForm.LETTER, ContactForm.INDIRECT}
)

# Forms that exist for when the responsible person is not involved at all: restorative
# story-telling, and a letter written with support and never sent.
NEVER_WITH_RESPONSIBLE_PERSON = frozenset({ContactForm.STORY_TELLING, ContactForm.UNSENT_LETTER})

# The others (conference, family circle, healing circle) go either way.

# Forms that put the harmed and the responsible person in one room when the latter takes part:
# what "indirect contact only" rules out.
MEETINGS = frozenset(
    {
        ContactForm.FACE_TO_FACE,
        ContactForm.CONFERENCE,
        ContactForm.FAMILY_CIRCLE,
        ContactForm.HEALING_CIRCLE,
    }
)


def usual_involvement(form: ContactForm) -> bool:
    """Whether the responsible person takes part when a caller does not say. For forms that go
    either way the answer is yes: that is the riskier question, so it never over-permits."""
    return form not in NEVER_WITH_RESPONSIBLE_PERSON


def possible_involvement(form: ContactForm, with_responsible_person: bool) -> bool:
    """Whether `form` can take place with (or without) the responsible person at all."""
    if with_responsible_person:
        return form not in NEVER_WITH_RESPONSIBLE_PERSON
    return form not in ALWAYS_WITH_RESPONSIBLE_PERSON
