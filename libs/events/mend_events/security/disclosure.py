"""What a participant may know: the one rule every read model passes before a participant sees it.

The access policy decides whether a caller may read a document at all; this decides what of it
a participant (harmed person, responsible person, supporter, institution representative) is
shown. Staff whom the policy lets read a document see it whole; the auditor above all must see
every halt with its cause (R9).

For a participant (R8, least knowledge; risk access: a participant never reads a flag, an
assessment or a factor, not even one about themself):
- A halt shows that the session was halted, when, and whether they halted it themself, with a
  neutral cause: `halted_by_you`, `halted_by_the_facilitator` (a practitioner's halt, and any
  halt for a risk flag or decision: risk is the practitioner's judgement, and the two look the
  same, so a halt for a flag about the responsible person tells him nothing), or `halted`
  (another participant's halt, any loss of consent or acknowledgement: whose it was is theirs).
  Never the cause's kind, the event that caused it, or who else halted it.
- No reference to risk or to other records they may not read: cause and causation event ids,
  assessment and flag ids, severe flags, sign-offs.
- A closure for risk (`unsafe`, `too_risky`) reads as a closure by the practitioner.

Pure and total over JSON-like documents (dicts, lists, scalars), so every service applies the
same function to whatever it is about to return: `for_viewer(identity, document)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mend_events.contracts.actors import PARTICIPANT_ROLES
from mend_events.security.identity import Identity

# Keys a participant never sees, wherever they occur in a document.
NEVER_FOR_PARTICIPANTS = frozenset(
    {
        "cause_event_id",
        "causation_id",
        "assessment_id",
        "flag_id",
        "flags",
        "severe_flags",
        "signed_off_by",
        "halted_by_id",
        "halted_by_role",
    }
)

# HaltCause values (mend_events.contracts.catalog.sessions) a participant reads as the
# facilitator's halt.
_FACILITATORS = frozenset({"practitioner_halt", "risk_flag", "risk_decision"})
# Closure reasons that are a risk judgement.
_RISK_CLOSURES = frozenset({"unsafe", "too_risky"})
_CLOSED_BY_PRACTITIONER = "closed_by_the_practitioner"

HALTED_BY_YOU = "halted_by_you"
HALTED_BY_THE_FACILITATOR = "halted_by_the_facilitator"
HALTED = "halted"
PARTICIPANT_HALT_CAUSES = frozenset({HALTED_BY_YOU, HALTED_BY_THE_FACILITATOR, HALTED})


def is_participant(viewer: Identity) -> bool:
    return viewer.role in PARTICIPANT_ROLES


def for_viewer(viewer: Identity, document: Any) -> Any:
    """`document` as `viewer` may see it: whole for staff, filtered for a participant."""
    if not is_participant(viewer):
        return document
    return _filtered(document, viewer.person_id)


def participant_halt(halt: Mapping[str, Any], person_id: str) -> dict[str, Any]:
    """A halt as a participant sees it: when, whether it was theirs, and a neutral cause."""
    yours = halt.get("halted_by_id") == person_id
    if yours:
        cause = HALTED_BY_YOU
    elif halt.get("cause") in _FACILITATORS:
        cause = HALTED_BY_THE_FACILITATOR
    else:
        cause = HALTED
    return {"at": halt.get("at"), "halted_by_you": yours, "cause": cause}


def _filtered(value: Any, person_id: str) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in NEVER_FOR_PARTICIPANTS:
                continue
            if key == "halt" and isinstance(item, Mapping):
                out[key] = participant_halt(item, person_id)
            elif key == "closure_reason" and item in _RISK_CLOSURES:
                out[key] = _CLOSED_BY_PRACTITIONER
            else:
                out[key] = _filtered(item, person_id)
        return out
    if isinstance(value, list | tuple):
        return [_filtered(item, person_id) for item in value]
    return value
