"""Plain words for the index's codes (due items, gates, stages), marked for the catalogue and
translated when a page renders them (`{{ _(DUE[kind]) }}`)."""

from __future__ import annotations

from mend_events.contracts.catalog.sessions import HarmCategory

from mend_web.participant_text import _  # the marker only: translated when rendered

DUE = {
    "reassessment": _("Risk reassessment due"),
    "check_in": _("Check-in due"),
    "consent_lapsing": _("Consent lapses"),
    "commitment": _("Commitment due"),
    "flag": _("Risk flag unresolved"),
    "aftercare": _("Halted session awaiting after-care"),
}
GATES = {
    "paused": _("Paused"),
    "consent_missing": _("Consent missing"),
    "consent_withdrawn": _("Consent withdrawn"),
    "risk_decision_missing": _("No risk decision"),
    "risk_unsuitable": _("Risk decision: do not proceed"),
    "flag_open": _("Open risk flag"),
    "halted_awaiting_aftercare": _("Awaiting after-care"),
}
STAGES = {
    "opening": _("Opening"),
    "consent": _("Consent"),
    "assessment": _("Risk assessment"),
    "preparation": _("Preparation"),
    "contact": _("Contact"),
    "outcome": _("Outcome"),
    "aftercare": _("After-care"),
    "closed": _("Closed"),
}
HARMS = {
    HarmCategory.RAPE: _("Rape"),
    HarmCategory.SEXUAL_ASSAULT: _("Sexual assault"),
    HarmCategory.CHILD_SEXUAL_ABUSE: _("Child sexual abuse"),
    HarmCategory.INTRAFAMILIAL_SEXUAL_ABUSE: _("Intrafamilial sexual abuse"),
    HarmCategory.IMAGE_BASED_ABUSE: _("Image-based abuse"),
    HarmCategory.ONLINE_SEXUAL_ABUSE: _("Online sexual abuse"),
    HarmCategory.SEXUAL_HARASSMENT: _("Sexual harassment"),
    HarmCategory.OTHER_SEXUAL_HARM: _("Other sexual harm"),
}
WORDS = {"due_words": DUE, "gate_words": GATES, "stage_words": STAGES,
         "harm_words": {str(k): v for k, v in HARMS.items()}}  # fmt: skip
