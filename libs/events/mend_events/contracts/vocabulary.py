"""Words every service shares: the forms contact can take (DOMAIN.md, stage 8), and which of
them involve the responsible person.

One enum for the platform, so a consent scope, a risk decision and a session speak of the
same form; one answer to who takes part, so risk and sessions never disagree on it."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field


class ContactForm(StrEnum):
    FACE_TO_FACE = "face_to_face"
    LETTER = "letter"  # a facilitated letter exchange
    UNSENT_LETTER = "unsent_letter"  # a letter written and never sent: no responsible person
    INDIRECT = "indirect"  # shuttle messages through the facilitator
    CONFERENCE = "conference"  # with others affected; the responsible person optional
    FAMILY_CIRCLE = "family_circle"  # the responsible person may be absent
    HEALING_CIRCLE = "healing_circle"  # with institutions, about secondary victimisation
    STORY_TELLING = "story_telling"  # no responsible person (e.g. no conviction, too risky)


# Contact with the responsible person by nature: there is no such form without them. A letter
# is a facilitated exchange with them; a letter that is never sent is `unsent_letter`.
ALWAYS_WITH_RESPONSIBLE_PERSON = frozenset(
    {ContactForm.FACE_TO_FACE, ContactForm.LETTER, ContactForm.INDIRECT}
)

# Forms that exist for when contact with the responsible person is impossible or too risky
# (restorative story-telling, a letter written with support and never sent): never with them.
NEVER_WITH_RESPONSIBLE_PERSON = frozenset({ContactForm.STORY_TELLING, ContactForm.UNSENT_LETTER})

# Forms that put the harmed and the responsible person in one room when the latter takes part:
# what a decision of "indirect contact only" rules out whatever the rule pack in force.
MEETINGS = frozenset(
    {
        ContactForm.FACE_TO_FACE,
        ContactForm.CONFERENCE,
        ContactForm.FAMILY_CIRCLE,
        ContactForm.HEALING_CIRCLE,
    }
)

# The others (conference, family circle, healing circle) go either way. Family circle is
# deliberately among them: DOMAIN.md and the seed say the responsible person "may be absent" /
# "may not be involved", i.e. optional, like a conference.


# A rule pack version (`mend_events.rules`), e.g. `england-wales@2`: what a decision, a consent
# or a gate evaluation records as the rules it was made under.
RulePackRef = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,40}@[1-9][0-9]{0,5}$")]
