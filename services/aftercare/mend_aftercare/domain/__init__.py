"""Aftercare decisions: `decide(state, command, ctx) -> events`, pure, and the `decider`.

Choices a reviewer should know (each is also where the rule is enforced below):
- One offer per cause chain, whatever the state: a second delivery of the same cause gives [],
  and so does a cause whose chain was already offered for (a withdrawal and the SessionHalted
  it caused arrive on two topics in either order; the survivor is offered support once, and
  the offer names both the event it answered and the root of its chain).
  An offer after closure is still made (R2 promises it after every halt and withdrawal) and
  reopens after-care, naming the closure it reopens so delivery can avoid unsafe direct contact.
  The harmed person may also reopen by accepting (or ask unprompted, once the case knows them).
  Closure ends every plan of the case, the responsible person's desistance plan included.
- Accepting, declining, the update preference and most closures are the harmed person's own
  word; a practitioner may close only as `unsafe` or `no_contact_possible`.
- Progress updates: `should_share_update` is the whole privacy rule. `ShareProgressUpdate`
  answers [] (never an error) whenever it says no, so the sender learns nothing about the
  harmed person's choices or consent.
- Facts the domain cannot know (current updates consent, research consent) arrive in the
  command, filled by the application layer from read models at the moment of deciding.

Modules: `state` (the case's after-care and its fold), `rules` (the sharing rule, closures,
guards), `decide` (each command), `views` (what each role sees), `report` (the commissioners'
report)."""

from mend_aftercare.domain.decide import decide, decider
from mend_aftercare.domain.rules import (
    HARMED_PERSON_CLOSURES,
    LEVEL_SHARES,
    PRACTITIONER_CLOSURES,
    should_share_update,
)
from mend_aftercare.domain.state import AftercareState, AftercareStatus, evolve, initial

__all__ = [
    "HARMED_PERSON_CLOSURES",
    "LEVEL_SHARES",
    "PRACTITIONER_CLOSURES",
    "AftercareState",
    "AftercareStatus",
    "decide",
    "decider",
    "evolve",
    "initial",
    "should_share_update",
]
