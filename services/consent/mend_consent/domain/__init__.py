"""Consent of one case (stream id = case id): pure `decide` and `evolve`, and the queries other
code asks of the state. No I/O, no clock: `now` comes from the command context.

Rules (DOMAIN.md R1, R2): consent is given by the participant themself, per scope, with no
incentive; it can be withdrawn at any time by or for that participant, lapses at its expiry,
and is invalidated by a later report of an incentive. Ending a grant is final: a grant is active
at most once, and only its first ending counts."""

from mend_consent.domain.decide import (
    decide,
    decider,
)
from mend_consent.domain.queries import (
    CurrentGrant,
    acknowledgement_stands,
    active_grants,
    covers,
    current_grants,
)
from mend_consent.domain.state import (
    Acknowledgement,
    ConsentState,
    Grant,
    GrantStatus,
    evolve,
    initial,
)

__all__ = [
    "Acknowledgement",
    "ConsentState",
    "CurrentGrant",
    "Grant",
    "GrantStatus",
    "acknowledgement_stands",
    "active_grants",
    "covers",
    "current_grants",
    "decide",
    "decider",
    "evolve",
    "initial",
]
