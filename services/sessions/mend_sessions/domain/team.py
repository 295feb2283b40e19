"""The specialists a session's team must include (R4: the team the case needs), as the rule
pack in force requires them (`mend_events.rules.TeamRules`). Pure."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import permutations

from mend_events import rules
from mend_events.contracts.catalog.sessions import Specialism

from mend_sessions.domain.practitioners import Practitioner

# The team an agency that adopted no pack requires (the code's own rule before rule packs).
DEFAULT_TEAM = rules.parse_ref(rules.DEFAULT_REF).team
_SPECIALIST_WORDS = {
    Specialism.SURVIVOR_SPECIALIST: "survivor specialist",
    Specialism.HSB_SPECIALIST: "harmful sexual behaviour specialist",
}


def specialist_gates(
    members: list[Practitioner], needed: tuple[Specialism, ...], why: str
) -> Iterator[str]:
    """Each needed specialism no member of the team (beyond the facilitator) holds; and, when
    each is held, the last one again if no two different people fill them: one person cannot
    fill two roles (be at once the survivor's specialist and the responsible person's)."""
    missing = [s for s in needed if not any(m.has(s) for m in members)]
    for specialism in missing:
        yield f"{_SPECIALIST_WORDS[specialism]} missing from team{why}"
    if needed and not missing and not _each_by_another(members, needed):
        yield f"{_SPECIALIST_WORDS[needed[-1]]} missing from team{why}"


def _each_by_another(members: list[Practitioner], needed: tuple[Specialism, ...]) -> bool:
    """Whether different members fill each needed role (a team is a handful of people)."""
    return any(
        all(m.has(s) for m, s in zip(chosen, needed, strict=True))
        for chosen in permutations(members, len(needed))
    )
