"""The verified caller (`Identity`) and the shape of a pseudonymous person id: what the token
verifier (identity.py), the OpenID Connect mapping (oidc.py) and the trust model (trust/) all
speak, kept apart so none of them imports another for it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mend_events.contracts.actors import Actor, Role

__all__ = ["PSEUDO_RE", "Identity"]

PSEUDO_RE = re.compile(r"^[a-z][a-z0-9_]{0,15}-[A-Za-z0-9_-]{4,64}$")


@dataclass(frozen=True, slots=True)
class Identity:
    """A verified caller: the agency that vouches for them, their role and pseudonymous id, and
    (once admitted by the trust model) the cases allocated to them now."""

    agency: str
    role: Role
    person_id: str
    cases: frozenset[str] = field(default_factory=frozenset)
    # A community volunteer's part in each of their cases ((case id, part), issue 21): what
    # they may see of a case follows from it (`policy.volunteer_part`). Empty for anyone else.
    parts: frozenset[tuple[str, str]] = field(default_factory=frozenset)

    def part_in(self, case_id: str) -> str | None:
        """The caller's part in the case as a volunteer allocated to it now, if any."""
        return next((part for case, part in self.parts if case == case_id), None)

    @property
    def actor(self) -> Actor:
        return Actor(id=self.person_id, role=self.role, agency=self.agency)
