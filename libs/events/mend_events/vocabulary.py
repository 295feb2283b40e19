"""Words every service shares: the forms contact can take (DOMAIN.md, stage 8).

One enum for the platform, so a consent scope, a risk decision and a session speak of the
same form. Which forms involve the responsible person is the sessions service's concern."""

from __future__ import annotations

from enum import StrEnum


class ContactForm(StrEnum):
    FACE_TO_FACE = "face_to_face"
    LETTER = "letter"  # a facilitated letter exchange
    UNSENT_LETTER = "unsent_letter"  # a letter written and never sent: no responsible person
    INDIRECT = "indirect"  # shuttle messages through the facilitator
    CONFERENCE = "conference"  # with others affected; the responsible person optional
    FAMILY_CIRCLE = "family_circle"  # the responsible person may be absent
    HEALING_CIRCLE = "healing_circle"  # with institutions, about secondary victimisation
    STORY_TELLING = "story_telling"  # no responsible person (e.g. no conviction, too risky)
