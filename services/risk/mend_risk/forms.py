"""Contact forms, and which of them bring the responsible person in.

`ContactForm` repeats the consent service's values on purpose until the lead moves one definition
into `mend_events`; the string values are the contract, so keep them exactly as they are.
"""

from __future__ import annotations

from enum import StrEnum


class ContactForm(StrEnum):
    FACE_TO_FACE = "face_to_face"
    LETTER = "letter"
    INDIRECT = "indirect"  # shuttle messages through the facilitator
    CONFERENCE = "conference"
    FAMILY_CIRCLE = "family_circle"
    HEALING_CIRCLE = "healing_circle"
    STORY_TELLING = "story_telling"


# Contact with the responsible person by nature: there is no such form without them.
ALWAYS_WITH_RESPONSIBLE_PERSON = frozenset({ContactForm.FACE_TO_FACE, ContactForm.INDIRECT})

# Restorative story-telling exists for when the responsible person is not involved at all.
NEVER_WITH_RESPONSIBLE_PERSON = frozenset({ContactForm.STORY_TELLING})

# The others go either way: a letter may be written and never sent (an unsent letter), and a
# conference or circle may be held without the responsible person.

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
